"""Keycloak behind the /auth API (distributed mode), over its plain OIDC and admin endpoints.

Registration goes through the admin API with the gateway's service account (client
credentials, token cached until shortly before it expires); login, refresh and logout use the
token and logout endpoints as the confidential `taskflow-gateway` client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp

from taskflow_auth_gateway.application.ports import (
    IdentityUnavailableError,
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    InvalidUserDataError,
    NewUser,
    PasswordPolicyError,
    TokenSet,
    UserExistsError,
)
from taskflow_auth_gateway.infrastructure.identity.validation import normalise_registration

log = logging.getLogger(__name__)


class KeycloakIdentityProvider:
    def __init__(
        self,
        *,
        base_url: str,
        realm: str,
        client_id: str,
        client_secret: str,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._realm_url = f"{self._base}/realms/{realm}"
        self._admin_url = f"{self._base}/admin/realms/{realm}"
        self._token_url = f"{self._realm_url}/protocol/openid-connect/token"
        self._logout_url = f"{self._realm_url}/protocol/openid-connect/logout"
        self._client = {"client_id": client_id, "client_secret": client_secret}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._http: aiohttp.ClientSession | None = None
        self._service_token: tuple[str, float] | None = None
        self._service_token_lock = asyncio.Lock()
        self._user_role: dict[str, Any] | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def check(self) -> None:
        status, _ = await self._request(
            "GET", f"{self._realm_url}/.well-known/openid-configuration"
        )
        if status != 200:
            raise IdentityUnavailableError(f"Keycloak realm answered {status}")

    # --- registration -------------------------------------------------------------------------

    async def register(self, username: str, email: str, password: str) -> NewUser:
        username, email = normalise_registration(username, email)
        representation = {
            "username": username,
            "email": email,
            "emailVerified": False,
            "enabled": True,
            # The realm's password policy is checked on create: a refused password creates no user.
            "credentials": [{"type": "password", "value": password, "temporary": False}],
        }
        status, body, headers = await self._admin("POST", "/users", json=representation)
        if status == 409:
            raise UserExistsError("A user with this username or email already exists.")
        if status == 400:
            raise _registration_refusal(body)
        if status != 201:
            raise IdentityUnavailableError(f"Keycloak refused to create the user ({status}).")
        user_id = headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
        try:
            await self._assign_user_role(user_id)
        except Exception:
            # Without its role the account is useless; remove it so the caller can retry.
            await self._admin("DELETE", f"/users/{user_id}")
            raise
        return NewUser(user_id, username, email)

    async def _assign_user_role(self, user_id: str) -> None:
        for attempt in (1, 2):
            if self._user_role is None or attempt == 2:
                status, body, _ = await self._admin("GET", "/roles/user")
                if status != 200 or not isinstance(body, dict):
                    raise IdentityUnavailableError(f"Keycloak role lookup failed ({status}).")
                self._user_role = {"id": body["id"], "name": body["name"]}
            status, _, _ = await self._admin(
                "POST", f"/users/{user_id}/role-mappings/realm", json=[self._user_role]
            )
            if status in (200, 204):
                return
            # A realm imported again since the role was looked up has new role ids (404): look
            # it up once more before giving up.
            log.warning("keycloak role assignment failed", extra={"status": status})
        raise IdentityUnavailableError(f"Keycloak role assignment failed ({status}).")

    # --- tokens -------------------------------------------------------------------------------

    async def login(self, username: str, password: str) -> TokenSet:
        status, body = await self._form(
            self._token_url,
            {
                "grant_type": "password",
                "username": username,
                "password": password,
                "scope": "openid",
            },
        )
        if status == 200:
            return _token_set(body)
        if status in (400, 401) and _error(body) in {
            "invalid_grant",
            "unauthorized_client",
            "invalid_request",
        }:
            # Unknown user, wrong password, locked by brute-force detection, disabled: all one
            # answer, so the API does not reveal which accounts exist.
            raise InvalidCredentialsError("Invalid username or password.")
        raise IdentityUnavailableError(f"Keycloak login failed unexpectedly ({status}).")

    async def refresh(self, refresh_token: str) -> TokenSet:
        status, body = await self._form(
            self._token_url, {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )
        if status == 200:
            return _token_set(body)
        if status in (400, 401):
            raise InvalidRefreshTokenError("The refresh token is invalid, expired or revoked.")
        raise IdentityUnavailableError(f"Keycloak refresh failed unexpectedly ({status}).")

    async def logout(self, refresh_token: str) -> None:
        status, _ = await self._form(self._logout_url, {"refresh_token": refresh_token})
        if status in (200, 204):
            return
        if status in (400, 401):
            raise InvalidRefreshTokenError("The refresh token is invalid, expired or revoked.")
        raise IdentityUnavailableError(f"Keycloak logout failed unexpectedly ({status}).")

    # --- plumbing -----------------------------------------------------------------------------

    async def _form(self, url: str, fields: dict[str, str]) -> tuple[int, Any]:
        return await self._request("POST", url, data={**fields, **self._client})

    async def _admin(
        self, method: str, path: str, json: Any = None
    ) -> tuple[int, Any, dict[str, str]]:
        for attempt in (1, 2):
            token = await self._service_access_token(force=attempt == 2)
            status, body, headers = await self._request_full(
                method,
                self._admin_url + path,
                json=json,
                headers={"Authorization": f"Bearer {token}"},
            )
            if status != 401:
                return status, body, headers
        return status, body, headers

    async def _service_access_token(self, force: bool = False) -> str:
        async with self._service_token_lock:
            cached = self._service_token
            if cached and not force and cached[1] > time.monotonic():
                return cached[0]
            status, body = await self._form(self._token_url, {"grant_type": "client_credentials"})
            if status != 200 or not isinstance(body, dict):
                raise IdentityUnavailableError(
                    f"the gateway's service account cannot get a token ({status})"
                )
            lifetime = float(body.get("expires_in", 60))
            self._service_token = (str(body["access_token"]), time.monotonic() + lifetime * 0.8)
            return self._service_token[0]

    async def _request(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        status, body, _ = await self._request_full(method, url, **kwargs)
        return status, body

    async def _request_full(
        self, method: str, url: str, **kwargs: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if self._http is None:
            raise IdentityUnavailableError("identity provider not started")
        try:
            async with self._http.request(method, url, **kwargs) as response:
                raw = await response.read()
                body: Any = None
                if raw and "json" in (response.content_type or ""):
                    try:
                        body = await response.json(content_type=None)
                    except ValueError:
                        body = None
                return response.status, body, dict(response.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("keycloak unreachable", extra={"url": url, "error": repr(exc)})
            raise IdentityUnavailableError("The identity provider is unreachable.") from exc


def _error(body: Any) -> str | None:
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else None


def _token_set(body: Any) -> TokenSet:
    return TokenSet(
        access_token=str(body["access_token"]),
        refresh_token=str(body["refresh_token"]),
        expires_in=int(body.get("expires_in", 300)),
        refresh_expires_in=int(body.get("refresh_expires_in", 1800)),
    )


def _registration_refusal(body: Any) -> Exception:
    """Keycloak's 400 on create: a password-policy refusal or otherwise invalid user data."""
    message = ""
    if isinstance(body, dict):
        message = str(
            body.get("error_description") or body.get("errorMessage") or body.get("error") or ""
        )
    if "password" in message.lower():
        return PasswordPolicyError(message)
    return InvalidUserDataError(message or "Keycloak refused the user data.")
