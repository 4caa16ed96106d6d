"""DRF authentication from the verified bearer token only, and role-based permissions."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from taskflow_common.auth import InvalidTokenError, Principal
from taskflow_common.djangoweb.registry import installed_verifier


class PrincipalUser:
    """What DRF calls `request.user`: the verified Principal, nothing from client headers."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def id(self) -> str:
        return self.principal.sub

    @property
    def pk(self) -> str:
        return self.principal.sub

    def __str__(self) -> str:
        return self.principal.username


class JwtAuthentication(BaseAuthentication):
    """`Authorization: Bearer <jwt>` verified with the process's JwtVerifier (RS256, JWKS)."""

    def authenticate(self, request: Request) -> tuple[PrincipalUser, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return None
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("A bearer token is required.")
        try:
            principal = installed_verifier().verify(token.strip())
        except InvalidTokenError as exc:
            raise AuthenticationFailed("The bearer token is invalid or expired.") from exc
        return PrincipalUser(principal), token.strip()

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer error="invalid_token"'


class IsAuthenticatedPrincipal(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.user, PrincipalUser):
            raise NotAuthenticated("A valid bearer token is required.")
        return True


class HasRealmRole(IsAuthenticatedPrincipal):
    """Subclass with the `role` a caller must carry (an attribute, or a property reading the
    service's settings); an authenticated caller without it gets a 403 naming the role."""

    role: str

    @property
    def message(self) -> str:
        return f"This endpoint requires the realm role '{self.role}'."

    def has_permission(self, request: Request, view: Any) -> bool:
        super().has_permission(request, view)
        user = request.user
        assert isinstance(user, PrincipalUser)
        return self.role in user.principal.roles
