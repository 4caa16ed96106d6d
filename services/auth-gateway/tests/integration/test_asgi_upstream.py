"""The embedded mode's in-process upstream: streaming, WebSocket, timeouts, lifespan state."""

import contextlib

import httpx
import pytest
import websockets
from gateway_support import dev_gateway, serving_listeners, upstream_app
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from taskflow_auth_gateway.infrastructure.upstream.asgi import AppLifespan, AsgiUpstream


def stateful_app(events: list[str]) -> Starlette:
    """An app whose lifespan yields state that its handlers read (as real factories do)."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        events.append("startup")
        yield {"greeting": "hello from lifespan"}
        events.append("shutdown")

    async def handler(request):
        return JSONResponse({"greeting": request.state.greeting})

    return Starlette(routes=[Route("/api/v1/suggestions", handler)], lifespan=lifespan)


@pytest.fixture
async def embedded_gateway(tmp_path):
    events: list[str] = []
    shared = stateful_app(events)
    shared_lifespan = AppLifespan(shared, "suggest+notify")
    upstreams = {
        "tasks": AsgiUpstream("tasks", upstream_app(), response_timeout=0.5),
        "notify": AsgiUpstream("notify", upstream_app()),
        "suggest": AsgiUpstream("suggest", shared, lifespan=shared_lifespan),
        "admin": AsgiUpstream("admin", shared, lifespan=shared_lifespan),
    }
    app, _ = dev_gateway(tmp_path, upstreams)
    async with (
        serving_listeners(app) as (url, metrics_url),
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        user = {"username": "inproc", "email": "inproc@example.com", "password": "long-password"}
        assert (await client.post("/auth/register", json=user)).status_code == 201
        tokens = (
            await client.post(
                "/auth/login", json={"username": "inproc", "password": "long-password"}
            )
        ).json()
        yield url, client, tokens["access_token"], events, metrics_url
    assert events == ["startup", "shutdown"]  # one lifespan for the two upstreams sharing it


async def test_lifespan_state_reaches_requests_and_runs_once(embedded_gateway):
    _, client, token, events, _ = embedded_gateway
    response = await client.get("/api/v1/suggestions", headers={"authorization": f"Bearer {token}"})
    assert response.json() == {"greeting": "hello from lifespan"}
    assert events == ["startup"]


async def test_streams_both_ways_in_process(embedded_gateway):
    _, client, token, _, _ = embedded_gateway
    bearer = {"authorization": f"Bearer {token}"}
    big = await client.get("/api/v1/tasks/big?mb=2", headers=bearer)
    assert len(big.content) == 2 * 1024 * 1024

    async def upload():
        for _ in range(4):
            yield b"u" * 65536

    sent = await client.post("/api/v1/tasks/upload", headers=bearer, content=upload())
    assert sent.json()["body_length"] == 4 * 65536
    assert sent.json()["headers"]["x-forwarded-for"] == "127.0.0.1"


async def test_slow_in_process_app_gives_504(embedded_gateway):
    _, client, token, _, _ = embedded_gateway
    slow = await client.get("/api/v1/tasks/slow?s=3", headers={"authorization": f"Bearer {token}"})
    assert slow.status_code == 504


async def test_websocket_in_process_with_the_bearer_subprotocol(embedded_gateway):
    url, _, token, _, _ = embedded_gateway
    async with websockets.connect(
        url.replace("http", "ws") + "/ws/notifications", subprotocols=["bearer", token]
    ) as ws:
        assert ws.subprotocol == "bearer"
        assert "Bearer" in await ws.recv()
        await ws.send("hi")
        assert await ws.recv() == "echo:hi"


async def test_health_of_each_service_through_the_gateway(embedded_gateway):
    _, client, _, _, _ = embedded_gateway
    health = await client.get("/healthz/tasks")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = await client.get("/readyz/notify")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert (await client.get("/readyz/nothing")).status_code == 404


async def test_metrics_count_proxied_requests_by_upstream(embedded_gateway):
    _, client, token, _, metrics_url = embedded_gateway
    await client.get("/api/v1/tasks/7", headers={"authorization": f"Bearer {token}"})
    assert (await client.get("/metrics")).status_code == 404
    async with httpx.AsyncClient() as operator:
        metrics = (await operator.get(f"{metrics_url}/metrics")).text
    assert 'taskflow_gateway_upstream_responses_total{status="200",upstream="tasks"}' in metrics
    assert "taskflow_gateway_upstream_duration_seconds_bucket" in metrics
