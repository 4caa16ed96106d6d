"""Operational endpoints every FastAPI service mounts: /healthz, /readyz, /metrics; RED metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskflow_common.health import ReadinessCheck, run_checks
from taskflow_common.metrics import (
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS,
    METRICS_CONTENT_TYPE,
    render_metrics,
)


def ops_router(checks: Callable[[], Sequence[ReadinessCheck]]) -> APIRouter:
    """`checks` is called per /readyz so the list can depend on what the lifespan built."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        report = await run_checks(checks())
        return JSONResponse(report.to_dict(), status_code=200 if report.ready else 503)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(render_metrics(), media_type=METRICS_CONTENT_TYPE)

    return router


class RequestMetricsMiddleware:
    """Requests and latency per route template (never per raw path: ids would explode labels)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_REQUEST_DURATION.labels(self.service, method, route).observe(
                time.perf_counter() - started
            )


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return str(route.path)
    app = scope.get("app")
    router = getattr(app, "router", None)
    for candidate in getattr(router, "routes", ()):
        match, _ = candidate.matches(scope)
        if match == Match.FULL:
            return str(getattr(candidate, "path", "unmatched"))
    return "unmatched"
