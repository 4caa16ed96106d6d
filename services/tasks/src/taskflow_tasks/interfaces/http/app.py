"""The FastAPI application for a given ApiContext (built by bootstrap)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI, Response

from taskflow_common.metrics import METRICS_CONTENT_TYPE, render_metrics
from taskflow_common.web import RequestMetricsMiddleware, install_problem_handlers, ops_router
from taskflow_tasks.interfaces.http.deps import ApiContext
from taskflow_tasks.interfaces.http.errors import install_domain_error_handler
from taskflow_tasks.interfaces.http.routes import other, projects, tasks

_UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def build_api(context: ApiContext, lifespan: Lifespan | None = None) -> FastAPI:
    app = FastAPI(
        title="TaskFlow tasks",
        version="1.0.0",
        description="Tasks, projects and sharing. Every error is application/problem+json.",
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry: one SERVER span per request (W3C context from the
        # caller) on the global provider. Per-dependency "operation" spans, OTel metrics and
        # OTel logs are off: they cost more CPU than the whole read path, and RED metrics
        # come from Prometheus below.
        telemetry={
            "tracing": True,
            "operation_spans": False,
            "metrics": False,
            "logs": False,
            "exclude": lambda scope: scope.get("path") in _UNTRACED,
        },
    )
    app.state.api = context

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        # Domain gauges (outbox backlog, open/overdue tasks) are refreshed per scrape, cached.
        await context.refresh_gauges()
        return Response(render_metrics(), media_type=METRICS_CONTENT_TYPE)

    app.include_router(ops_router(context.readiness))
    app.include_router(other.router)  # before /tasks/{id}: /tasks/export is not an id
    app.include_router(tasks.router)
    app.include_router(projects.router)
    install_problem_handlers(app)
    install_domain_error_handler(app)
    app.add_middleware(RequestMetricsMiddleware, service="tasks")
    return app
