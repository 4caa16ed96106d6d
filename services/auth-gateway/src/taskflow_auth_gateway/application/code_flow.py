"""An OpenID Connect authorization server for the development identity provider (embedded mode).

The admin web UI signs in with the authorization-code flow and PKCE against Keycloak in the
distributed mode; in the embedded mode the same client code runs against this: an
authorization endpoint with a login page (interfaces/http/dev_oidc.py), a token endpoint for
the `authorization_code` and `refresh_token` grants, and an end-session endpoint.

Only registered clients, only their registered redirect URI prefix, S256 PKCE required. Codes
live in memory for a minute and are single-use: a code used twice ends the session it
started, as RFC 6749 §4.1.2 asks. A restart forgets pending codes; nothing else is lost.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from taskflow_auth_gateway.application.ports import (
    IdentityUnavailableError,
    InvalidRefreshTokenError,
    TokenSet,
)

CODE_SECONDS = 60
# More pending codes than this are refused: a flood of abandoned sign-ins cannot grow memory.
MAX_PENDING_CODES = 10_000


class CodeFlowIdentity(Protocol):
    """What the authorization server needs of an identity provider (the development one,
    infrastructure/identity/dev.py). `user` values are the provider's own account records."""

    issuer: str

    async def authenticate(self, username: str, password: str) -> Any:
        """The account these credentials are, or InvalidCredentialsError."""

    async def user(self, user_id: str) -> Any | None: ...
    async def sign_in(self, user: Any, session_id: str | None = None) -> TokenSet: ...
    def id_token_for(
        self, user: Any, *, client_id: str, session_id: str, nonce: str | None
    ) -> str: ...
    async def refresh(self, refresh_token: str) -> TokenSet: ...
    def session_of(self, id_token: str, client_id: str) -> str | None: ...
    async def end_session(self, session_id: str) -> bool: ...


@dataclass(frozen=True)
class OidcClient:
    client_id: str
    secret: str
    # Where codes may be sent: absolute URIs starting with this (the admin site's callback).
    redirect_uri_prefix: str


@dataclass(frozen=True)
class AuthorizationRequest:
    """What the login page carries through to the code: checked before the page is shown."""

    client_id: str
    redirect_uri: str
    state: str
    nonce: str | None
    code_challenge: str
    scope: str

    def as_form(self) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "nonce": self.nonce or "",
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
            "response_type": "code",
            "scope": self.scope,
        }


@dataclass(frozen=True)
class _Grant:
    request: AuthorizationRequest
    user_id: str
    session_id: str
    expires_at: float


class BadAuthorizationRequestError(Exception):
    """The request names no registered client or redirect URI: shown on the page, never
    redirected (RFC 6749 §4.1.2.1), so the endpoint cannot be an open redirector."""


class TokenRequestError(Exception):
    """An OAuth error answer of the token endpoint (RFC 6749 §5.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class DevAuthorizationServer:
    def __init__(
        self,
        identity: CodeFlowIdentity,
        clients: Mapping[str, OidcClient],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._identity = identity
        self._clients = dict(clients)
        self._clock = clock
        self._codes: dict[str, _Grant] = {}
        # Codes already exchanged, until they would have expired: a second use is detected.
        self._used: dict[str, tuple[str, float]] = {}

    @property
    def issuer(self) -> str:
        return self._identity.issuer

    def discovery(self) -> dict[str, Any]:
        """The endpoints of an OpenID provider configuration document."""
        base = f"{self.issuer}/auth/oidc"
        return {
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "end_session_endpoint": f"{base}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "scopes_supported": ["openid", "profile", "email"],
        }

    # --- the authorization endpoint ------------------------------------------------------

    def check_request(self, params: Mapping[str, str]) -> AuthorizationRequest:
        client = self._clients.get(params.get("client_id", ""))
        if client is None:
            raise BadAuthorizationRequestError("Unknown client_id.")
        redirect_uri = params.get("redirect_uri", "")
        if not _under(redirect_uri, client.redirect_uri_prefix):
            raise BadAuthorizationRequestError("redirect_uri is not one this client registered.")
        if params.get("response_type") != "code":
            raise BadAuthorizationRequestError("Only response_type=code is supported.")
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not 43 <= len(challenge) <= 128:
            raise BadAuthorizationRequestError("PKCE with code_challenge_method=S256 is required.")
        scope = params.get("scope", "")
        if "openid" not in scope.split():
            raise BadAuthorizationRequestError("The scope must include openid.")
        return AuthorizationRequest(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            state=params.get("state", "")[:512],
            nonce=params.get("nonce") or None,
            code_challenge=challenge,
            scope=scope[:512],
        )

    async def approve(self, request: AuthorizationRequest, username: str, password: str) -> str:
        """The redirect URI with a fresh code, for the user these credentials are.

        Raises InvalidCredentialsError for wrong credentials (the page shows it again)."""
        user = await self._identity.authenticate(username, password)
        self._forget_expired()
        if len(self._codes) >= MAX_PENDING_CODES:
            raise IdentityUnavailableError("Too many sign-ins are pending; try again in a minute.")
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Grant(
            request=request,
            user_id=user.id,
            session_id=str(uuid.uuid4()),
            expires_at=self._clock() + CODE_SECONDS,
        )
        query = {"code": code, "state": request.state}
        separator = "&" if urlsplit(request.redirect_uri).query else "?"
        return f"{request.redirect_uri}{separator}{urlencode(query)}"

    # --- the token endpoint ----------------------------------------------------------------

    async def token(self, form: Mapping[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        """The token endpoint's JSON answer, or TokenRequestError."""
        client = self._authenticate_client(form, basic)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return await self._exchange_code(client, form)
        if grant_type == "refresh_token":
            try:
                tokens = await self._identity.refresh(form.get("refresh_token", ""))
            except InvalidRefreshTokenError as exc:
                raise TokenRequestError("invalid_grant", exc.detail) from exc
            return {**tokens.__dict__, "scope": "openid profile email"}
        raise TokenRequestError(
            "unsupported_grant_type", "Use authorization_code or refresh_token."
        )

    def _authenticate_client(
        self, form: Mapping[str, str], basic: tuple[str, str] | None
    ) -> OidcClient:
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        client = self._clients.get(client_id)
        if client is None or not secrets.compare_digest(client.secret, secret):
            raise TokenRequestError("invalid_client", "Client authentication failed.", 401)
        return client

    async def _exchange_code(self, client: OidcClient, form: Mapping[str, str]) -> dict[str, Any]:
        code = form.get("code", "")
        self._forget_expired()
        grant = self._codes.pop(code, None)
        if grant is None:
            used = self._used.pop(code, None)
            if used is not None:  # replayed: whoever holds the code must not keep the session
                await self._identity.end_session(used[0])
            raise TokenRequestError("invalid_grant", "The code is invalid, expired or used.")
        self._used[code] = (grant.session_id, grant.expires_at)
        request = grant.request
        if request.client_id != client.client_id:
            raise TokenRequestError("invalid_grant", "The code was issued to another client.")
        if form.get("redirect_uri") != request.redirect_uri:
            raise TokenRequestError("invalid_grant", "redirect_uri differs from the request's.")
        if not secrets.compare_digest(_s256(form.get("code_verifier", "")), request.code_challenge):
            raise TokenRequestError("invalid_grant", "The code_verifier does not match.")
        user = await self._identity.user(grant.user_id)
        if user is None:
            raise TokenRequestError("invalid_grant", "The user no longer exists.")
        tokens = await self._identity.sign_in(user, session_id=grant.session_id)
        id_token = self._identity.id_token_for(
            user, client_id=client.client_id, session_id=grant.session_id, nonce=request.nonce
        )
        return {**tokens.__dict__, "id_token": id_token, "scope": request.scope}

    # --- the end-session endpoint ------------------------------------------------------------

    async def end_session(self, params: Mapping[str, str]) -> str | None:
        """Ends the session the ID token hint names; the URI to send the browser to after,
        when the hint's client registered it (otherwise None: the page says signed out)."""
        hint = params.get("id_token_hint", "")
        client = self._clients.get(params.get("client_id", ""))
        if client is None or not hint:
            return None
        session_id = self._identity.session_of(hint, client.client_id)
        if session_id is None:
            return None
        await self._identity.end_session(session_id)
        after = params.get("post_logout_redirect_uri", "")
        return after if _under(after, client.redirect_uri_prefix) else None

    def _forget_expired(self) -> None:
        now = self._clock()
        for code in [c for c, grant in self._codes.items() if grant.expires_at <= now]:
            del self._codes[code]
        for code in [c for c, (_, until) in self._used.items() if until <= now]:
            del self._used[code]


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _under(uri: str, prefix: str) -> bool:
    """`uri` is absolute, has no fragment and lies under `prefix` (same origin, path prefix)."""
    parts = urlsplit(uri)
    wanted = urlsplit(prefix)
    return (
        parts.scheme == wanted.scheme
        and parts.netloc == wanted.netloc
        and not parts.fragment
        and ".." not in parts.path.split("/")
        and parts.path.startswith(wanted.path)
    )
