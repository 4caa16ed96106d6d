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


async def test_proxied_requests_are_counted_per_route_template(embedded_gateway):
    """Per route, not per upstream; never per raw path (an id or a scanner's junk)."""
    from prometheus_client.parser import text_string_to_metric_families

    _, client, token, _, metrics_url = embedded_gateway
    auth = {"authorization": f"Bearer {token}"}

    async def requests_by_route() -> dict[tuple[str, str, str], float]:
        async with httpx.AsyncClient() as operator:
            text = (await operator.get(f"{metrics_url}/metrics")).text
        (family,) = [
            f for f in text_string_to_metric_families(text) if f.name == "taskflow_http_requests"
        ]
        return {
            (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
            for s in family.samples
            if s.name.endswith("_total")
            and s.labels["service"] == "auth-gateway"
            and s.labels["route"].startswith("/api/")  # not the scrapes themselves
        }

    before = await requests_by_route()
    first, second = "0b7e1f52-5c8e-4a55-9d1c-2f5e0c7a9b11", "6f1d2c3b-7a8e-4f90-8b12-3c4d5e6f7a80"
    for task_id in (first, second):
        assert (
            await client.get(f"/api/v1/tasks/{task_id}/activity", headers=auth)
        ).status_code == 200
    assert (await client.patch("/api/v1/tasks/scan-me-now", headers=auth)).status_code == 405
    assert (await client.get(f"/api/v1/tasks/{first}")).status_code == 401
    after = await requests_by_route()

    grew = {
        key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)
    }
    assert grew == {
        ("GET", "/api/v1/tasks/{id}/activity", "200"): 2,
        ("PATCH", "/api/v1/tasks*", "405"): 1,
        ("GET", "/api/v1/tasks*", "401"): 1,
    }
    labels = " ".join(route for _, route, _ in after)
    assert first not in labels
    assert "scan-me" not in labels
