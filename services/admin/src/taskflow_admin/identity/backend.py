"""Sign-in with the identity provider (mozilla-django-oidc): who may enter /admin/.

Roles are read from the access token, verified by the same verifier every service uses:
Keycloak's ID token and userinfo carry no realm roles. Users with the admin role become staff
and superusers (the Django row mirrors the provider; it holds no password); anyone else is
refused without a Django login and sees the 403 page.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from taskflow_admin.identity.tokens import (
    SessionTokens,
    admin_principal,
    has_admin_role,
    keep_tokens,
)
from taskflow_common.auth import InvalidTokenError

# The ID token of the last sign-in, sent as id_token_hint at logout to end the provider's
# session; kept for refused users too, so their logout link signs them out there as well.
ID_TOKEN_KEY = "oidc_id_token"
# The username of a signed-in user without the admin role, for the 403 page.
REFUSED_KEY = "taskflow_refused_username"
_TOKEN_RESPONSE = "taskflow_token_response"


class AdminOidcBackend(OIDCAuthenticationBackend):
    request: HttpRequest

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        token_info: dict[str, Any] = super().get_token(payload)
        self.request.session.pop(REFUSED_KEY, None)
        # Written to the session only after Django's login, which may flush the session.
        setattr(self.request, _TOKEN_RESPONSE, token_info)
        return token_info

    def store_tokens(self, access_token: str, id_token: str) -> None:
        self.request.session[ID_TOKEN_KEY] = id_token

    def get_or_create_user(self, access_token: str, id_token: str, payload: Any) -> Any:
        try:
            principal = admin_principal(access_token)
        except InvalidTokenError as exc:
            raise SuspiciousOperation(f"the access token does not verify: {exc}") from exc
        claims = payload if isinstance(payload, dict) else {}
        users = self.UserModel.objects.filter(username=principal.username)
        if not has_admin_role(principal):
            # A former administrator keeps no staff rights in an old row.
            users.update(is_staff=False, is_superuser=False)
            self.request.session[REFUSED_KEY] = principal.username
            return None
        user = users.first()
        if user is None:
            user = self.UserModel(username=principal.username)
            user.set_unusable_password()
        user.email = principal.email or ""
        user.first_name = str(claims.get("given_name") or "")[:150]
        user.last_name = str(claims.get("family_name") or "")[:150]
        user.is_active = user.is_staff = user.is_superuser = True
        user.save()
        return user


class AdminCallbackView(OIDCAuthenticationCallbackView):
    def login_success(self) -> HttpResponse:
        response: HttpResponse = super().login_success()
        token_info = getattr(self.request, _TOKEN_RESPONSE, None)
        if token_info:
            keep_tokens(self.request, SessionTokens.from_token_response(token_info, time.time()))
            self.request.session[ID_TOKEN_KEY] = token_info.get("id_token")
        return response
