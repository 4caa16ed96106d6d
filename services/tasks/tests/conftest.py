"""Fixtures shared by the tasks service's tests: an in-test RSA key and its static JWKS,
token minting, and serving the app in-process (integration/conftest.py gives it its
PostgreSQL)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from taskflow_common.listeners import MetricsListenerSplit
from taskflow_tasks.bootstrap import create_app
from taskflow_tasks.config import Settings

METRICS_PORT = 9100
METRICS_LISTENER = f"http://tasks.test:{METRICS_PORT}"

TEST_ISSUER = "https://issuer.tasks-tests.invalid/realms/taskflow"
TEST_AUDIENCE = "taskflow-api"
TEST_KID = "tasks-test-key"


@pytest.fixture(scope="session")
def tasks_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def tasks_jwks(tasks_signing_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(tasks_signing_key.public_key()))
    public.update(kid=TEST_KID, use="sig", alg="RS256")
    return {"keys": [public]}


@pytest.fixture(scope="session")
def mint_token(tasks_signing_key: rsa.RSAPrivateKey) -> Callable[..., str]:
    def mint(sub: str, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": TEST_ISSUER,
            "aud": TEST_AUDIENCE,
            "sub": sub,
            "preferred_username": sub,
            "iat": now,
            "exp": now + 600,
            "typ": "Bearer",
            **overrides,
        }
        return jwt.encode(claims, tasks_signing_key, algorithm="RS256", headers={"kid": TEST_KID})

    return mint


def test_settings(database_url: str, **overrides: Any) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        oidc_issuer=TEST_ISSUER,
        oidc_audience=TEST_AUDIENCE,
        otel_sdk_disabled=True,
        gauge_refresh_seconds=0,
        **overrides,
    )


class ApiUser:
    """An httpx client that speaks as one user (a fresh random subject)."""

    def __init__(self, client: httpx.AsyncClient, sub: str, token: str) -> None:
        self.client = client
        self.sub = sub
        self.headers = {"Authorization": f"Bearer {token}"}

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", url, **kwargs)

    async def create_task(self, **body: Any) -> dict[str, Any]:
        response = await self.post("/api/v1/tasks", json={"title": "a task", **body})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@asynccontextmanager
async def serve_in_process(
    settings: Settings, jwks: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, behind an in-process httpx transport.

    As `serve` runs it, behind both listeners: the client's base URL is the public port, and
    METRICS_LISTENER (absolute URLs) reaches /metrics and the readiness detail.
    """
    app = create_app(settings, jwks=lambda: jwks)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=MetricsListenerSplit(app, METRICS_PORT))
        async with httpx.AsyncClient(transport=transport, base_url="http://tasks.test") as client:
            yield client


@pytest.fixture
def tasks_settings_for() -> Callable[..., Settings]:
    return test_settings


@pytest.fixture
def serve_tasks_app() -> Callable[..., Any]:
    return serve_in_process


@pytest.fixture
def tasks_metrics_listener() -> str:
    """The base URL that reaches `tasks_client`'s app on its metrics port."""
    return METRICS_LISTENER


@pytest.fixture
def users_for(mint_token: Callable[..., str]) -> Callable[[httpx.AsyncClient], ApiUser]:
    """A new user (random subject, valid token) speaking through the given client."""

    def make(client: httpx.AsyncClient) -> ApiUser:
        sub = str(uuid.uuid4())
        return ApiUser(client, sub, mint_token(sub))

    return make


@pytest.fixture
def admins_for(mint_token: Callable[..., str]) -> Callable[..., ApiUser]:
    """A new user whose token carries the given realm roles (by default: an administrator)."""

    def make(client: httpx.AsyncClient, roles: tuple[str, ...] = ("user", "admin")) -> ApiUser:
        sub = str(uuid.uuid4())
        return ApiUser(client, sub, mint_token(sub, realm_access={"roles": list(roles)}))

    return make
