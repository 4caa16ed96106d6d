"""The API limit checked alongside safe requests: never more accepted than the quota allows."""

import asyncio

import httpx
import pytest
from gateway_support import dev_gateway, serving, upstream_app

from taskflow_auth_gateway.infrastructure.upstream.asgi import AsgiUpstream
from taskflow_auth_gateway.infrastructure.upstream.http import HttpUpstream

SLOW_API = {"api": {"rate": 1, "period_seconds": 60, "burst": 10}}


async def token_for(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    user = {"username": name, "email": f"{name}@example.test", "password": "long-password-1"}
    assert (await client.post("/auth/register", json=user)).status_code == 201
    login = await client.post("/auth/login", json={"username": name, "password": user["password"]})
    return {"authorization": f"Bearer {login.json()['access_token']}"}


@pytest.mark.parametrize("adapter", ["http", "asgi"])
async def test_sequential_gets_accept_exactly_the_burst(tmp_path, adapter):
    received: list = []
    async with serving(upstream_app(received)) as upstream_url:
        upstream = (
            HttpUpstream("tasks", upstream_url)
            if adapter == "http"
            else AsgiUpstream("tasks", upstream_app(received))
        )
        app, _ = dev_gateway(tmp_path, {"tasks": upstream}, rate_limits=SLOW_API)
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
            bearer = await token_for(client, f"seq-{adapter}")
            statuses = [
                (await client.get(f"/api/v1/tasks/{i}", headers=bearer)).status_code
                for i in range(14)
            ]
    assert statuses == [200] * 10 + [429] * 4
    # One at a time, no request is out alongside its check when the budget runs out:
    # refused requests never reached the service.
    assert len(received) == 10


async def test_concurrent_gets_never_exceed_the_quota(tmp_path):
    received: list = []
    async with serving(upstream_app(received)) as upstream_url:
        app, _ = dev_gateway(
            tmp_path, {"tasks": HttpUpstream("tasks", upstream_url)}, rate_limits=SLOW_API
        )
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
            bearer = await token_for(client, "burst")
            # Warm: the first request is checked before forwarding; the burst follows.
            assert (await client.get("/api/v1/tasks/0", headers=bearer)).status_code == 200
            responses = await asyncio.gather(
                *(client.get(f"/api/v1/tasks/{i}", headers=bearer) for i in range(1, 40))
            )
    accepted = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(accepted) == 9  # 10 in the burst, one used by the warm-up
    assert len(refused) == 30
    assert all(r.headers["content-type"] == "application/problem+json" for r in refused)
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    # At most half of the budget left after the warm-up (9 // 2 = 4) went out alongside their
    # check; only those can have reached the service and then been refused.
    assert 10 <= len(received) <= 10 + 4
