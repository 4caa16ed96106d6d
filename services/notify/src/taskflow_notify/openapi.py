"""Notify's OpenAPI 3.1 document (the gateway merges it into the suite's /openapi.json)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from taskflow_notify.kinds import Channel, Kind

_PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _responses(ok: dict[str, Any], *errors: int) -> dict[str, Any]:
    answers = {**ok}
    for status in (401, *errors):
        answers[str(status)] = {
            "description": {
                400: "Bad request",
                401: "No valid bearer token",
                403: "The token lacks the administrators' realm role",
                404: "Not found (or not yours)",
                410: "The sync token is past retention: refetch, then resume (type resync)",
                413: "Body too large",
                422: "Invalid fields",
            }[status],
            "content": {"application/problem+json": {"schema": _PROBLEM}},
        }
    return answers


def _json(schema: dict[str, Any], description: str = "OK", status: int = 200) -> dict[str, Any]:
    return {
        str(status): {
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _page(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": _ref(item)},
            "next_cursor": {"type": ["string", "null"]},
        },
    }


def _id_param(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }


def document() -> dict[str, Any]:
    matrix = {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "additionalProperties": {"type": "boolean"},
            "propertyNames": {"enum": [c.value for c in Channel]},
        },
        "propertyNames": {"enum": [k.value for k in Kind]},
    }
    tag = ["notifications"]
    return {
        "openapi": "3.1.0",
        "info": {"title": "TaskFlow notify", "version": "1"},
        "paths": {
            "/api/v1/notifications": {
                "get": {
                    "tags": tag,
                    "operationId": "notifications_list",
                    "summary": "Your notifications, newest first",
                    "parameters": [
                        {"name": "unread", "in": "query", "schema": {"type": "boolean"}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                        },
                    ],
                    "responses": _responses(_json(_page("Notification")), 400, 422),
                }
            },
            "/api/v1/notifications/{notification_id}/read": {
                "post": {
                    "tags": tag,
                    "operationId": "notifications_read",
                    "summary": "Mark one notification read",
                    "parameters": [_id_param("notification_id")],
                    "responses": _responses(_json(_ref("Notification")), 404),
                }
            },
            "/api/v1/notifications/read-all": {
                "post": {
                    "tags": tag,
                    "operationId": "notifications_read_all",
                    "summary": "Mark every notification read",
                    "responses": _responses(
                        _json({"type": "object", "properties": {"updated": {"type": "integer"}}})
                    ),
                }
            },
            "/api/v1/notifications/changes": {
                "get": {
                    "tags": tag,
                    "operationId": "notifications_changes",
                    "summary": "Your change feed after a sync token, oldest first",
                    "description": "Every task.changed, access.changed and notification frame "
                    "since `since`, in feed order. Without `since`: the current token and no "
                    "changes. Follow `sync_token` while `has_more`.",
                    "parameters": [
                        {"name": "since", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                        },
                    ],
                    "responses": _responses(_json(_ref("Changes")), 400, 410, 422),
                }
            },
            "/api/v1/notifications/preferences": {
                "get": {
                    "tags": tag,
                    "operationId": "preferences_get",
                    "summary": "Which channels each kind uses",
                    "responses": _responses(_json(_ref("Preferences"))),
                },
                "put": {
                    "tags": tag,
                    "operationId": "preferences_put",
                    "summary": "Change some (kind, channel) choices",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Preferences")}},
                    },
                    "responses": _responses(_json(_ref("Preferences")), 400, 413, 422),
                },
            },
            "/api/v1/webhooks": {
                "get": {
                    "tags": ["webhooks"],
                    "operationId": "webhooks_list",
                    "summary": "Your webhooks",
                    "responses": _responses(_json(_page("Webhook"))),
                },
                "post": {
                    "tags": ["webhooks"],
                    "operationId": "webhooks_create",
                    "summary": "Register a webhook (signed with your secret)",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("WebhookCreate")}},
                    },
                    "responses": _responses(_json(_ref("Webhook"), "Created", 201), 400, 413, 422),
                },
            },
            "/api/v1/webhooks/{webhook_id}": {
                "get": {
                    "tags": ["webhooks"],
                    "operationId": "webhooks_get",
                    "summary": "One webhook",
                    "parameters": [_id_param("webhook_id")],
                    "responses": _responses(_json(_ref("Webhook")), 404),
                },
                "delete": {
                    "tags": ["webhooks"],
                    "operationId": "webhooks_delete",
                    "summary": "Remove a webhook",
                    "parameters": [_id_param("webhook_id")],
                    "responses": _responses({"204": {"description": "Removed"}}, 404),
                },
            },
            "/api/v1/webhooks/{webhook_id}/deliveries": {
                "get": {
                    "tags": ["webhooks"],
                    "operationId": "webhooks_deliveries",
                    "summary": "The webhook's delivery log",
                    "parameters": [_id_param("webhook_id")],
                    "responses": _responses(_json(_page("Delivery")), 404),
                }
            },
            # Served on notify's own port for the admin service; the gateway routes
            # /api/v1/admin/* to the admin service and so leaves this path out of its document.
            "/api/v1/admin/stats": {
                "get": {
                    "tags": ["admin"],
                    "operationId": "admin_stats",
                    "summary": "Notifications sent per channel over the last 30 days",
                    "responses": _responses(_json(_ref("DeliveryStats")), 403),
                }
            },
        },
        "components": {
            "schemas": {
                "DeliveryStats": {
                    "type": "object",
                    "required": ["days", "since", "by_channel"],
                    "properties": {
                        "days": {"type": "integer"},
                        "since": {"type": "string", "format": "date-time"},
                        "by_channel": {
                            "type": "object",
                            "properties": {
                                c.value: {
                                    "type": "object",
                                    "required": ["delivered", "failed"],
                                    "properties": {
                                        "delivered": {"type": "integer"},
                                        "failed": {"type": "integer"},
                                    },
                                }
                                for c in Channel
                            },
                        },
                    },
                },
                "Changes": {
                    "type": "object",
                    "required": ["data", "sync_token", "has_more"],
                    "properties": {
                        "data": {"type": "array", "items": _ref("FeedFrame")},
                        "sync_token": {"type": "string"},
                        "has_more": {"type": "boolean"},
                    },
                },
                "FeedFrame": {
                    "type": "object",
                    "required": ["type", "pos", "sync_token"],
                    "properties": {
                        "type": {"enum": ["task.changed", "access.changed", "notification"]},
                        "pos": {"type": "integer", "minimum": 1},
                        "sync_token": {"type": "string"},
                    },
                    "additionalProperties": True,
                },
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "instance": {"type": "string"},
                    },
                },
                "Notification": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "cursor": {"type": "string"},
                        "kind": {"enum": [k.value for k in Kind]},
                        "title": {"type": "string"},
                        "body": {"type": "string"},
                        "data": {"type": "object"},
                        "event_id": {"type": "string"},
                        "event_type": {"type": "string"},
                        "occurred_at": {"type": "string", "format": "date-time"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "read_at": {"type": ["string", "null"], "format": "date-time"},
                    },
                },
                "Preferences": {
                    "type": "object",
                    "required": ["preferences"],
                    "properties": {"preferences": matrix},
                },
                "WebhookCreate": {
                    "type": "object",
                    "required": ["url", "events", "secret"],
                    "properties": {
                        "url": {"type": "string", "format": "uri", "maxLength": 2000},
                        "events": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"enum": ["*", *(k.value for k in Kind)]},
                        },
                        "secret": {"type": "string", "minLength": 16, "maxLength": 200},
                    },
                },
                "Webhook": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "url": {"type": "string"},
                        "events": {"type": "array", "items": {"type": "string"}},
                        "created_at": {"type": "string", "format": "date-time"},
                    },
                },
                "Delivery": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "notification_id": {"type": "string", "format": "uuid"},
                        "status": {"enum": ["pending", "sent", "failed", "skipped"]},
                        "attempts": {"type": "integer"},
                        "response_status": {"type": ["integer", "null"]},
                        "last_error": {
                            "type": ["string", "null"],
                            "description": "The last failed attempt's reason code: timeout, "
                            "connect_failed, tls_error, connection_lost, protocol_error, "
                            "dns_failed, http_3xx (redirects are not followed), http_4xx, "
                            "http_5xx, blocked_target, attempts_exhausted.",
                        },
                        "created_at": {"type": "string", "format": "date-time"},
                        "sent_at": {"type": ["string", "null"], "format": "date-time"},
                    },
                },
            }
        },
    }


async def openapi_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(document())
