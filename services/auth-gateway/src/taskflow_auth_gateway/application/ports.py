"""The gateway's ports: who issues identities, who limits rates, where requests go.

Each has two adapters chosen in bootstrap.py: Keycloak / the development identity provider,
Redis / memory rate limiter, HTTP / in-process ASGI upstream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from taskflow_auth_gateway.domain.ratelimit import Decision, Quota

# ASGI is a calling convention, not a framework: spelled out here so ports stay framework-free.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


# --- identity -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewUser:
    id: str
    username: str
    email: str


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    token_type: str = "Bearer"


class IdentityError(Exception):
    """Base of the identity errors; each maps to one HTTP status at the interface."""

    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UserExistsError(IdentityError):
    status = 409


class PasswordPolicyError(IdentityError):
    status = 422


class InvalidUserDataError(IdentityError):
    status = 422


class InvalidCredentialsError(IdentityError):
    """Unknown user, wrong password and locked account look the same to the caller."""

    status = 401


class InvalidRefreshTokenError(IdentityError):
    status = 401


class IdentityUnavailableError(IdentityError):
    status = 503


class IdentityProvider(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def register(self, username: str, email: str, password: str) -> NewUser: ...
    async def login(self, username: str, password: str) -> TokenSet: ...
    async def refresh(self, refresh_token: str) -> TokenSet: ...
    async def logout(self, refresh_token: str) -> None: ...
    async def check(self) -> None:
        """Raises when the provider cannot serve (readiness)."""


# --- rate limits ----------------------------------------------------------------------------


class RateLimiter(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def hit(self, key: str, quota: Quota) -> Decision: ...
    async def check(self) -> None: ...


# --- upstreams ------------------------------------------------------------------------------


class UpstreamUnavailableError(Exception):
    """Nothing answers (connection refused, app not running) → 503."""


class UpstreamTimeoutError(Exception):
    """The upstream did not answer in time → 504."""


class UpstreamProtocolError(Exception):
    """The upstream answered with something that is not a response → 502."""


class ClientDisconnectedError(Exception):
    """The client went away while its request body was being forwarded: nobody to answer."""


class UpstreamRefusedWebSocketError(Exception):
    """The upstream answered a WebSocket handshake with an HTTP status instead of 101."""

    def __init__(self, status: int) -> None:
        super().__init__(f"upstream refused the websocket handshake with {status}")
        self.status = status


class Upstream(Protocol):
    """One service behind the gateway. Errors before the response starts are raised as the
    Upstream*Error types above; after that the adapter can only abort the stream."""

    name: str

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def forward_http(self, scope: Scope, receive: Receive, send: Send) -> None: ...
    async def forward_websocket(self, scope: Scope, receive: Receive, send: Send) -> None: ...
    async def get(self, path: str) -> tuple[int, bytes]:
        """A small internal GET (health, OpenAPI) on the upstream."""
        ...
