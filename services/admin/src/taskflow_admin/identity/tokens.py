"""The signed-in administrator's own tokens, kept in the Django session by the OIDC login.

Admin pages call the other services with the administrator's access token, so every upstream
check (role, audit actor) sees the person, not a service account. The token is refreshed with
the session's refresh token shortly before it expires; a refreshed token that no longer carries
the admin role ends the session, so revoking the role takes effect within one token lifetime.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest

from taskflow_admin.config import AdminSettings
from taskflow_common.auth import InvalidTokenError, Principal
from taskflow_common.djangoweb.registry import installed_verifier

SESSION_KEY = "taskflow_oidc_tokens"
# Refresh a token that expires within this many seconds, so an upstream call made with it
# does not fail half-way through a page.
REFRESH_MARGIN_SECONDS = 30


class UpstreamTokenMissingError(Exception):
    """The session holds no usable token from an OIDC login: the administrator must sign in."""


class IdentityUnavailableError(Exception):
    """The identity provider did not answer a refresh: neither the token nor a new one is known."""


@dataclass(frozen=True)
class SessionTokens:
    access_token: str
    refresh_token: str | None
    expires_at: float

    @classmethod
    def from_token_response(cls, body: Mapping[str, Any], now: float) -> SessionTokens:
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token"),
            expires_at=now + float(body.get("expires_in") or 0),
        )


def admin_settings() -> AdminSettings:
    cfg: AdminSettings = settings.TASKFLOW_ADMIN
    return cfg


def admin_principal(access_token: str) -> Principal:
    """The caller of a fresh access token, verified like every service verifies it."""
    return installed_verifier().verify(access_token)


def has_admin_role(principal: Principal) -> bool:
    return admin_settings().admin_role in principal.roles


def keep_tokens(request: HttpRequest, tokens: SessionTokens) -> None:
    request.session[SESSION_KEY] = asdict(tokens)


def stored_tokens(request: HttpRequest) -> SessionTokens | None:
    raw = request.session.get(SESSION_KEY)
    if not isinstance(raw, dict):
        return None
    try:
        return SessionTokens(**raw)
    except TypeError:  # a session written by an older layout
        return None


def upstream_token(request: HttpRequest) -> str:
    """The signed-in administrator's current access token, for calls to other services.

    Refreshed first when it expires within REFRESH_MARGIN_SECONDS. Raises
    UpstreamTokenMissingError when the session has no token or the identity provider refuses
    the refresh (the middleware turns it into a redirect to sign in), IdentityUnavailableError
    when the provider cannot be reached.
    """
    tokens = stored_tokens(request)
    if tokens is None:
        raise UpstreamTokenMissingError("This session has no token from a sign-in.")
    now = time.time()
    if tokens.expires_at - now > REFRESH_MARGIN_SECONDS:
        return tokens.access_token
    if not tokens.refresh_token:
        _end_session(request)
        raise UpstreamTokenMissingError("The access token expired and there is no refresh token.")
    try:
        answer = _refresh(tokens.refresh_token)
    except UpstreamTokenMissingError:
        _end_session(request)
        raise
    refreshed = SessionTokens.from_token_response(answer, now)
    try:
        principal = admin_principal(refreshed.access_token)
    except InvalidTokenError as exc:
        _end_session(request)
        raise UpstreamTokenMissingError(f"The refreshed token does not verify: {exc}") from exc
    if not has_admin_role(principal):
        _end_session(request)
        raise UpstreamTokenMissingError(f"{principal.username} no longer has the admin role.")
    keep_tokens(request, refreshed)
    return refreshed.access_token


def _refresh(refresh_token: str) -> dict[str, Any]:
    cfg = admin_settings()
    try:
        response = httpx.post(
            cfg.token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": cfg.keycloak_admin_ui_client_id,
                "client_secret": cfg.keycloak_admin_ui_secret.get_secret_value(),
            },
            timeout=cfg.oidc_timeout_seconds,
        )
    except httpx.HTTPError as exc:
        raise IdentityUnavailableError(f"The token endpoint did not answer: {exc}") from exc
    if response.status_code in (400, 401):
        # invalid_grant: the provider's session ended (logout, idle timeout, user disabled).
        raise UpstreamTokenMissingError("The identity provider refused the refresh token.")
    if response.status_code != 200:
        raise IdentityUnavailableError(f"The token endpoint answered {response.status_code}.")
    body: dict[str, Any] = response.json()
    return body


def _end_session(request: HttpRequest) -> None:
    auth.logout(request)
