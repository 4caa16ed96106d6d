"""Thin DRF APIs: parse and validate, call a service or selector, shape the answer."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from taskflow_common.djangoweb.auth import HasRealmRole, PrincipalUser
from taskflow_common.problems import Problem, ProblemError, not_found
from taskflow_notify import admin_stats, feed, selectors, services
from taskflow_notify.container import container
from taskflow_notify.cursors import (
    decode_cursor,
    decode_sync_token,
    encode_cursor,
    encode_sync_token,
)
from taskflow_notify.frames import notification_public
from taskflow_notify.kinds import Kind


def _user_id(request: Request) -> str:
    user = request.user
    assert isinstance(user, PrincipalUser)
    return user.principal.sub


def _query(serializer: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    """The validated query string. A plain dict, not the QueryDict: DRF reads a blank form
    field as absent, so `?unread=` would pass as the default; in a query string it is a value,
    and one that is no boolean is a 400."""
    params = serializer(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    return dict(params.validated_data)


def _uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found() from None


class NotificationListApi(APIView):
    class FilterSerializer(serializers.Serializer[Any]):
        unread = serializers.BooleanField(required=False, default=False)
        cursor = serializers.CharField(required=False, max_length=200, allow_blank=True)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)

    def get(self, request: Request) -> Response:
        query = _query(self.FilterSerializer, request)
        before = decode_cursor(query["cursor"]) if query.get("cursor") else None
        rows = selectors.notification_list(
            user_id=_user_id(request),
            unread_only=query["unread"],
            before_seq=before,
            limit=query["limit"],
        )
        page = rows[: query["limit"]]
        next_cursor = encode_cursor(page[-1].seq) if len(rows) > query["limit"] else None
        return Response(
            {"data": [notification_public(n) for n in page], "next_cursor": next_cursor}
        )


class ChangesApi(APIView):
    """The caller's change feed after a sync token (Todoist-style sync): oldest first, paged.

    Without `since` it answers the current token and no changes (a client starts there after
    fetching its tasks). A token past retention is a 410 `resync` problem: refetch, then
    resume from the token this endpoint answers without `since`.
    """

    class FilterSerializer(serializers.Serializer[Any]):
        since = serializers.CharField(required=False, max_length=200, allow_blank=True)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=200)

    def get(self, request: Request) -> Response:
        query = _query(self.FilterSerializer, request)
        user_id = _user_id(request)
        if not query.get("since"):
            head = feed.feed_head(user_id=user_id)
            return Response({"data": [], "sync_token": encode_sync_token(head), "has_more": False})
        position = decode_sync_token(query["since"])
        try:
            rows = feed.feed_after(user_id=user_id, position=position, limit=query["limit"] + 1)
        except feed.FeedGoneError:
            raise ProblemError(
                Problem(
                    type="resync",
                    title="Resync required",
                    status=410,
                    detail="The sync token is older than the change feed keeps: refetch, "
                    "then resume from a new token (GET without since).",
                )
            ) from None
        page = rows[: query["limit"]]
        last = page[-1].position if page else position
        return Response(
            {
                "data": [feed.positioned(r.frame, r.position) for r in page],
                "sync_token": encode_sync_token(last),
                "has_more": len(rows) > query["limit"],
            }
        )


class NotificationReadApi(APIView):
    def post(self, request: Request, notification_id: str) -> Response:
        notification = services.notification_mark_read(
            user_id=_user_id(request), notification_id=_uuid_or_404(notification_id)
        )
        return Response(notification_public(notification))


class NotificationReadAllApi(APIView):
    def post(self, request: Request) -> Response:
        updated = services.notification_mark_all_read(user_id=_user_id(request))
        return Response({"updated": updated})


class JsonBooleanField(serializers.BooleanField):
    """JSON `true`/`false` only. The API documents a boolean; DRF's BooleanField also reads
    0, 1, "no", "on" and the like, which a client sending them has most likely got wrong."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)
        raise AssertionError("unreachable")  # fail() always raises


class PreferencesApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        preferences = serializers.DictField(
            child=serializers.DictField(child=JsonBooleanField(), allow_empty=True),
            allow_empty=True,
        )

    def get(self, request: Request) -> Response:
        return Response({"preferences": selectors.preference_matrix(user_id=_user_id(request))})

    def put(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        matrix = services.preferences_update(
            user_id=_user_id(request), changes=body.validated_data["preferences"]
        )
        return Response({"preferences": matrix})


def _webhook_public(webhook: Any) -> dict[str, Any]:
    # The secret is write-only: shown to nobody after creation.
    return {
        "id": str(webhook.id),
        "url": webhook.url,
        "events": webhook.events,
        "created_at": webhook.created_at.isoformat(),
    }


class WebhookListCreateApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        url = serializers.URLField(max_length=2000)
        events = serializers.ListField(
            child=serializers.CharField(max_length=40), min_length=1, max_length=len(Kind) + 1
        )
        secret = serializers.CharField(min_length=16, max_length=200)

    def get(self, request: Request) -> Response:
        hooks = selectors.webhook_list(user_id=_user_id(request))
        return Response({"data": [_webhook_public(w) for w in hooks], "next_cursor": None})

    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        settings = container().settings
        webhook = services.webhook_create(
            user_id=_user_id(request),
            sender=container().webhooks,
            max_per_user=settings.webhooks_per_user,
            **body.validated_data,
        )
        return Response(_webhook_public(webhook), status=201)


class WebhookDetailApi(APIView):
    def get(self, request: Request, webhook_id: str) -> Response:
        webhook = selectors.webhook_get(
            user_id=_user_id(request), webhook_id=_uuid_or_404(webhook_id)
        )
        if webhook is None:
            raise not_found("No such webhook.")
        return Response(_webhook_public(webhook))

    def delete(self, request: Request, webhook_id: str) -> Response:
        services.webhook_delete(user_id=_user_id(request), webhook_id=_uuid_or_404(webhook_id))
        return Response(status=204)


class WebhookDeliveriesApi(APIView):
    def get(self, request: Request, webhook_id: str) -> Response:
        webhook = selectors.webhook_get(
            user_id=_user_id(request), webhook_id=_uuid_or_404(webhook_id)
        )
        if webhook is None:
            raise not_found("No such webhook.")
        rows = selectors.webhook_deliveries(webhook=webhook)
        return Response(
            {
                "data": [
                    {
                        "id": str(d.id),
                        "notification_id": str(d.notification.id),
                        "status": d.status,
                        "attempts": d.attempts,
                        "response_status": d.response_status,
                        "last_error": d.last_error or None,
                        "created_at": d.created_at.isoformat(),
                        "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                    }
                    for d in rows
                ],
                "next_cursor": None,
            }
        )


class IsNotifyAdmin(HasRealmRole):
    @property
    def role(self) -> str:  # type: ignore[override]
        admin_role: str = settings.TASKFLOW_NOTIFY.admin_role
        return admin_role


class AdminStatsApi(APIView):
    """Notifications sent per channel over the last 30 days (the administrators' realm role)."""

    permission_classes = [IsNotifyAdmin]

    def get(self, request: Request) -> Response:
        return Response(admin_stats.delivery_stats())
