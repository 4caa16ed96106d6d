"""/auth/* against the real Keycloak of the local stack, and a proxied call with its token."""

import secrets
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from gateway_support import keycloak_gateway, serving, upstream_app

from taskflow_auth_gateway.infrastructure.ratelimit.redis import RedisRateLimiter
from taskflow_auth_gateway.infrastructure.upstream.http import HttpUpstream
from taskflow_common.testing import require_component
from taskflow_common.testing.stack import REDIS_URL


@pytest.fixture
async def kc_gateway() -> AsyncIterator[str]:
    require_component("keycloak")
    require_component("redis")
    limiter = RedisRateLimiter(REDIS_URL, prefix=f"test:{uuid.uuid4().hex}:")
    async with serving(upstream_app()) as upstream_url:
        app = keycloak_gateway({"tasks": HttpUpstream("tasks", upstream_url)}, limiter=limiter)
        async with serving(app) as url:
            yield url


@pytest.fixture
async def kc_gateway_unlimited() -> AsyncIterator[str]:
    require_component("keycloak")
    async with serving(upstream_app()) as upstream_url:
        app = keycloak_gateway({"tasks": HttpUpstream("tasks", upstream_url)})
        async with serving(app) as url:
            yield url


def new_user() -> dict[str, str]:
    name = f"gw-{secrets.token_hex(4)}"
    return {"username": name, "email": f"{name}@example.test", "password": "Pw-" + name[::-1]}


async def test_register_login_me_call_refresh_logout_then_refresh_refused(kc_gateway):
    user = new_user()
    async with httpx.AsyncClient(base_url=kc_gateway, timeout=30) as client:
        created = await client.post("/auth/register", json=user)
        assert created.status_code == 201, created.text
        assert created.json()["username"] == user["username"]

        login = await client.post(
            "/auth/login", json={"username": user["username"], "password": user["password"]}
        )
        assert login.status_code == 200, login.text
        tokens = login.json()
        assert tokens["token_type"] == "Bearer"
        # Keycloak reports the remaining lifetime in whole seconds: 299 when a second
        # boundary passes while it answers.
        assert 290 <= tokens["expires_in"] <= 300
        bearer = {"authorization": f"Bearer {tokens['access_token']}"}

        me = await client.get("/auth/me", headers=bearer)
        assert me.status_code == 200
        assert me.json()["id"] == created.json()["id"]
        assert me.json()["email"] == user["email"]
        assert "user" in me.json()["roles"]

        proxied = await client.get("/api/v1/tasks/1", headers=bearer)
        assert proxied.status_code == 200
        assert proxied.json()["headers"]["authorization"] == bearer["authorization"]

        refreshed = await client.post(
            "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 200
        new_refresh = refreshed.json()["refresh_token"]
        assert (
            await client.post("/auth/logout", json={"refresh_token": new_refresh})
        ).status_code == 204
        refused = await client.post("/auth/refresh", json={"refresh_token": new_refresh})
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"


async def test_duplicate_username_or_email_is_409(kc_gateway):
    user = new_user()
    async with httpx.AsyncClient(base_url=kc_gateway, timeout=30) as client:
        assert (await client.post("/auth/register", json=user)).status_code == 201
        same_name = {**user, "email": f"other-{user['email']}"}
        same_email = {**user, "username": user["username"] + "-2"}
        assert (await client.post("/auth/register", json=same_name)).status_code == 409
        assert (await client.post("/auth/register", json=same_email)).status_code == 409


async def test_a_password_refused_by_the_realm_policy_is_422_with_the_reason(kc_gateway):
    user = new_user()
    async with httpx.AsyncClient(base_url=kc_gateway, timeout=30) as client:
        short = await client.post("/auth/register", json={**user, "password": "short"})
        assert short.status_code == 422
        assert "minimum length" in short.json()["detail"]
        as_name = await client.post("/auth/register", json={**user, "password": user["username"]})
        assert as_name.status_code == 422
        assert "username" in as_name.json()["detail"]
        # Nothing was created by the refused attempts.
        assert (await client.post("/auth/register", json=user)).status_code == 201


async def test_unknown_user_and_wrong_password_get_the_same_401(kc_gateway):
    user = new_user()
    async with httpx.AsyncClient(base_url=kc_gateway, timeout=30) as client:
        assert (await client.post("/auth/register", json=user)).status_code == 201
        wrong = await client.post(
            "/auth/login", json={"username": user["username"], "password": "Not-The-One-1"}
        )
        unknown = await client.post(
            "/auth/login", json={"username": "nobody-" + user["username"], "password": "x" * 9}
        )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.json()["type"] == unknown.json()["type"]


async def test_login_is_rate_limited_per_ip_with_429_and_retry_after(kc_gateway):
    async with httpx.AsyncClient(base_url=kc_gateway, timeout=30) as client:
        statuses = []
        for _ in range(11):
            response = await client.post(
                "/auth/login", json={"username": "nobody-x", "password": "irrelevant"}
            )
            statuses.append(response.status_code)
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-remaining"] == "0"


async def test_keycloak_brute_force_lockout_is_respected_with_the_same_401(kc_gateway_unlimited):
    user = new_user()
    credentials = {"username": user["username"], "password": user["password"]}
    async with httpx.AsyncClient(base_url=kc_gateway_unlimited, timeout=30) as client:
        assert (await client.post("/auth/register", json=user)).status_code == 201
        for _ in range(12):
            wrong = await client.post(
                "/auth/login", json={**credentials, "password": "Wrong-Password-1"}
            )
            assert wrong.status_code == 401
        # Locked by the realm's brute-force detection: even the right password is refused,
        # with the same answer as a wrong one (no account-state oracle), and never a 5xx.
        locked = await client.post("/auth/login", json=credentials)
    assert locked.status_code == 401
    assert locked.json()["detail"] == wrong.json()["detail"]


async def test_registration_survives_a_realm_whose_role_ids_changed():
    # A realm imported again (a new Keycloak database) gives its roles new ids: the cached id of
    # the `user` role then answers 404, and registering must look the role up again, not 503.
    from taskflow_auth_gateway.config import GatewaySettings
    from taskflow_auth_gateway.infrastructure.identity.keycloak import KeycloakIdentityProvider

    require_component("keycloak")
    settings = GatewaySettings(identity_provider="keycloak")
    provider = KeycloakIdentityProvider(
        base_url=settings.keycloak_url,
        realm=settings.keycloak_realm,
        client_id=settings.keycloak_gateway_client_id,
        client_secret=settings.keycloak_gateway_secret.get_secret_value(),
    )
    await provider.start()
    try:
        provider._user_role = {"id": str(uuid.uuid4()), "name": "user"}
        user = new_user()
        created = await provider.register(user["username"], user["email"], user["password"])
        tokens = await provider.login(user["username"], user["password"])
    finally:
        await provider.close()
    assert created.username == user["username"]
    assert tokens.access_token
