"""/healthz, /readyz and /metrics for every FastAPI service; RED metrics.

The public listener answers /healthz and a bare ready/not ready /readyz; /metrics and the
readiness detail (which check is down, and why) answer on the metrics listener only
(`taskflow_common.listeners`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskflow_common.health import ReadinessCheck, run_checks
from taskflow_common.listeners import on_metrics_listener
from taskflow_common.metrics import (
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS,
    METRICS_CONTENT_TYPE,
    render_metrics,
)


def ops_router(
    checks: Callable[[], Sequence[ReadinessCheck]],
    before_scrape: Callable[[], Awaitable[object]] | None = None,
) -> APIRouter:
    """`checks` is called per /readyz so the list can depend on what the lifespan built;
    `before_scrape` refreshes gauges that are computed per scrape."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        report = await run_checks(checks())
        body = report.detailed() if on_metrics_listener(request.scope) else report.public()
        return JSONResponse(body, status_code=200 if report.ready else 503)

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        if not on_metrics_listener(request.scope):
            # The same answer as a path that does not exist: the public port has no metrics.
            raise HTTPException(status_code=404)
        if before_scrape is not None:
            await before_scrape()
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
