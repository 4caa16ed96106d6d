"""The admin API (DRF): every endpoint requires the administrators' realm role (the
TASKFLOW_ADMIN_ROLE setting, `admin` by default) in a verified token."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from taskflow_admin import cursors, selectors
from taskflow_admin.audit import audit_entry_public
from taskflow_admin.container import container
from taskflow_common.djangoweb.auth import HasRealmRole, PrincipalUser


class IsTaskflowAdmin(HasRealmRole):
    @property
    def role(self) -> str:  # type: ignore[override]
        admin_role: str = settings.TASKFLOW_ADMIN.admin_role
        return admin_role


class AdminApi(APIView):
    permission_classes = [IsTaskflowAdmin]


class AdminRootApi(AdminApi):
    """A placeholder index until the admin API issue lands: who is calling, what exists."""

    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, PrincipalUser)
        return Response(
            {
                "service": "admin",
                "caller": {
                    "id": user.principal.sub,
                    "username": user.principal.username,
                    "roles": sorted(user.principal.roles),
                },
                "resources": ["audit", "stats", "users"],
            }
        )


class AuditListApi(AdminApi):
    """The audit log, newest first, filtered and keyset-paginated."""

    class FilterSerializer(serializers.Serializer[Any]):
        actor_id = serializers.CharField(required=False, max_length=64)
        action = serializers.CharField(required=False, max_length=64)
        target_type = serializers.CharField(required=False, max_length=64)
        target_id = serializers.CharField(required=False, max_length=64)
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)
        cursor = serializers.CharField(required=False, max_length=400)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)

    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = dict(params.validated_data)
        limit = query.pop("limit")
        cursor = query.pop("cursor", None)
        after = cursors.decode_audit(cursor) if cursor else None
        rows = selectors.audit_list(selectors.AuditFilter(**query), after=after, limit=limit)
        page = rows[:limit]
        next_cursor = (
            cursors.encode_audit(page[-1].occurred_at, page[-1].id) if len(rows) > limit else None
        )
        return Response({"data": [audit_entry_public(e) for e in page], "next_cursor": next_cursor})


class UserListApi(AdminApi):
    """The realm's users from Keycloak, searched, in pages (the cursor holds the offset)."""

    class FilterSerializer(serializers.Serializer[Any]):
        q = serializers.CharField(required=False, max_length=100, allow_blank=True, default="")
        cursor = serializers.CharField(required=False, max_length=400)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)

    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data
        first = cursors.decode_offset(query["cursor"]) if query.get("cursor") else 0
        page = container().directory.search(query["q"], first=first, limit=query["limit"])
        after = first + len(page.users)
        next_cursor = cursors.encode_offset(after) if page.users and after < page.total else None
        return Response(
            {
                "data": [u.public() for u in page.users],
                "next_cursor": next_cursor,
                "total": page.total,
            }
        )


class StatsApi(AdminApi):
    """Each service's readiness and admin figures, fetched with the caller's own token."""

    def get(self, request: Request) -> Response:
        from taskflow_admin.dashboard import services_health

        token = str(request.auth)
        health = services_health(
            container().services,
            token,
            cache_seconds=settings.TASKFLOW_ADMIN.dashboard_cache_seconds,
        )
        return Response({"services": {h.name: h.public() for h in health}})
