"""FastAPI ops endpoints: the public port says ready or not; metrics and reasons stay internal."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from taskflow_common.health import ReadinessCheck
from taskflow_common.listeners import MetricsListenerSplit
from taskflow_common.web import install_problem_handlers, ops_router

METRICS_PORT = 9100
PUBLIC = "http://svc.test"
METRICS = f"http://svc.test:{METRICS_PORT}"
SECRET_DETAIL = "connection to 10.0.7.12:5432 refused for user taskflow_owner"


async def database_down() -> None:
    raise ConnectionRefusedError(SECRET_DETAIL)


async def database_up() -> None:
    return None


def client_for(*checks: ReadinessCheck) -> httpx.AsyncClient:
    """The app as a service process serves it: one app behind its two listeners."""
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(ops_router(lambda: list(checks)))
    transport = httpx.ASGITransport(app=MetricsListenerSplit(app, METRICS_PORT))
    return httpx.AsyncClient(transport=transport)


async def test_the_public_port_serves_no_metrics_and_the_metrics_port_does():
    async with client_for(ReadinessCheck("database", database_up)) as client:
        public = await client.get(f"{PUBLIC}/metrics")
        scrape = await client.get(f"{METRICS}/metrics")
    assert public.status_code == 404
    assert "taskflow_http_requests_total" not in public.text
    assert scrape.status_code == 200
    assert "# TYPE taskflow_http_requests_total counter" in scrape.text


async def test_a_failing_check_is_only_not_ready_on_the_public_port():
    async with client_for(
        ReadinessCheck("database", database_down), ReadinessCheck("redis", database_up)
    ) as client:
        ready = await client.get(f"{PUBLIC}/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not ready"}
    assert "10.0.7.12" not in ready.text
    assert "database" not in ready.text


async def test_the_metrics_port_tells_operators_which_check_failed_and_why():
    async with client_for(
        ReadinessCheck("database", database_down), ReadinessCheck("redis", database_up)
    ) as client:
        ready = await client.get(f"{METRICS}/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["checks"]["redis"] == "ok"
    assert body["checks"]["database"] == f"down: ConnectionRefusedError: {SECRET_DETAIL}"


async def test_a_ready_service_says_ready_on_both_ports_and_lives_on_both():
    async with client_for(ReadinessCheck("database", database_up)) as client:
        public = await client.get(f"{PUBLIC}/readyz")
        detailed = await client.get(f"{METRICS}/readyz")
        alive = [(await client.get(f"{base}/healthz")).json() for base in (PUBLIC, METRICS)]
    assert (public.status_code, public.json()) == (200, {"status": "ready"})
    assert detailed.json() == {"status": "ready", "checks": {"database": "ok"}}
    assert alive == [{"status": "ok"}, {"status": "ok"}]


async def test_the_metrics_port_serves_nothing_but_the_ops_paths():
    app = FastAPI()
    app.include_router(ops_router(list))

    @app.get("/api/v1/things")
    async def things() -> list[str]:
        return ["public data"]

    transport = httpx.ASGITransport(app=MetricsListenerSplit(app, METRICS_PORT))
    async with httpx.AsyncClient(transport=transport) as client:
        public = await client.get(f"{PUBLIC}/api/v1/things")
        internal = await client.get(f"{METRICS}/api/v1/things")
    assert public.status_code == 200
    assert internal.status_code == 404
