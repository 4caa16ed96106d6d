"""The admin API (DRF): every endpoint requires the administrators' realm role (the
TASKFLOW_ADMIN_ROLE setting, `admin` by default) in a verified token."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

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
                "resources": [],
            }
        )
