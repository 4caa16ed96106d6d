"""Admin's OpenAPI 3.1 document (merged by the gateway into the suite's /openapi.json)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

_PROBLEM = {
    "application/problem+json": {
        "schema": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
            },
        }
    }
}
_GUARDED = {
    "401": {"description": "No valid bearer token", "content": _PROBLEM},
    "403": {"description": "The token lacks the admin role", "content": _PROBLEM},
}
_JSON_ANY: dict[str, Any] = {"type": ["object", "array", "null"]}


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _page_of(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": item},
            "next_cursor": {"type": ["string", "null"]},
        },
    }


AUDIT_ENTRY = {
    "type": "object",
    "required": ["id", "occurred_at", "actor", "action", "target_type", "target_id"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "actor": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "username": {"type": "string"}},
        },
        "action": {"type": "string"},
        "target_type": {"type": "string"},
        "target_id": {"type": "string"},
        "before": _JSON_ANY,
        "after": _JSON_ANY,
        "detail": {"type": "object"},
        "published": {"type": "boolean"},
    },
}

DIRECTORY_USER = {
    "type": "object",
    "required": ["id", "username", "enabled", "is_admin"],
    "properties": {
        "id": {"type": "string"},
        "username": {"type": "string"},
        "email": {"type": "string"},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "enabled": {"type": "boolean"},
        "email_verified": {"type": "boolean"},
        "created_at_ms": {"type": ["integer", "null"]},
        "is_admin": {"type": "boolean"},
    },
}

SERVICE_HEALTH = {
    "type": "object",
    "required": ["name", "ready", "stats", "problem"],
    "properties": {
        "name": {"type": "string"},
        "ready": {"type": "boolean", "description": "The service's /readyz answered 2xx"},
        "stats": {
            "type": ["object", "null"],
            "description": "The service's own /api/v1/admin/stats (null when it failed)",
        },
        "problem": {"type": ["string", "null"], "description": "Why the stats are missing"},
    },
}

_PAGINATION = [
    _query("cursor", {"type": "string", "maxLength": 400}, "next_cursor of the previous page"),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size"),
]


def _paths() -> dict[str, Any]:
    text = {"type": "string", "maxLength": 64}
    return {
        "/api/v1/admin/": {
            "get": {
                "tags": ["admin"],
                "operationId": "admin_index",
                "summary": "Who is calling and what the admin API offers (realm role `admin`)",
                "responses": {
                    "200": _ok(
                        {
                            "type": "object",
                            "properties": {
                                "service": {"type": "string"},
                                "caller": {"type": "object"},
                                "resources": {"type": "array", "items": {"type": "string"}},
                            },
                        }
                    ),
                    **_GUARDED,
                },
            }
        },
        "/api/v1/admin/audit": {
            "get": {
                "tags": ["admin"],
                "operationId": "admin_audit_list",
                "summary": "The audit log, newest first (realm role `admin`)",
                "parameters": [
                    _query("actor_id", text, "Only this administrator's actions"),
                    _query("action", text, "e.g. user.disable, task.bulk.set_priority"),
                    _query("target_type", text, "user, task, ..."),
                    _query("target_id", text, "The object acted on"),
                    _query("since", {"type": "string", "format": "date-time"}, "From (incl.)"),
                    _query("until", {"type": "string", "format": "date-time"}, "Until (excl.)"),
                    *_PAGINATION,
                ],
                "responses": {
                    "200": _ok(_page_of(AUDIT_ENTRY)),
                    "400": {"description": "A malformed cursor", "content": _PROBLEM},
                    "422": {"description": "An invalid filter", "content": _PROBLEM},
                    **_GUARDED,
                },
            }
        },
        "/api/v1/admin/users": {
            "get": {
                "tags": ["admin"],
                "operationId": "admin_user_list",
                "summary": "The realm's users from Keycloak, searched (realm role `admin`)",
                "parameters": [
                    _query("q", {"type": "string", "maxLength": 100}, "Username, email or name"),
                    *_PAGINATION,
                ],
                "responses": {
                    "200": _ok(
                        {
                            **_page_of(DIRECTORY_USER),
                            "properties": {
                                **_page_of(DIRECTORY_USER)["properties"],
                                "total": {"type": "integer"},
                            },
                        }
                    ),
                    "400": {"description": "A malformed cursor", "content": _PROBLEM},
                    "422": {"description": "An invalid filter", "content": _PROBLEM},
                    "503": {
                        "description": "Keycloak's admin API is unavailable",
                        "content": _PROBLEM,
                    },
                    **_GUARDED,
                },
            }
        },
        "/api/v1/admin/stats": {
            "get": {
                "tags": ["admin"],
                "operationId": "admin_stats",
                "summary": "Each service's readiness and figures, as the dashboard shows them "
                "(realm role `admin`; cached briefly)",
                "responses": {
                    "200": _ok(
                        {
                            "type": "object",
                            "required": ["services"],
                            "properties": {
                                "services": {
                                    "type": "object",
                                    "additionalProperties": SERVICE_HEALTH,
                                }
                            },
                        }
                    ),
                    **_GUARDED,
                },
            }
        },
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "TaskFlow admin", "version": "1"},
        "paths": _paths(),
    }


async def openapi_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(document())
