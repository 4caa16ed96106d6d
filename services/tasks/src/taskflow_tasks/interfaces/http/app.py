"""The FastAPI application for a given ApiContext (built by bootstrap)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from taskflow_common.web import RequestMetricsMiddleware, install_problem_handlers, ops_router
from taskflow_tasks.interfaces.http.deps import ApiContext
from taskflow_tasks.interfaces.http.errors import install_domain_error_handler
from taskflow_tasks.interfaces.http.routes import admin, labels, projects, tasks
from taskflow_tasks.interfaces.http.tracing import ServerSpanMiddleware

_UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def build_api(context: ApiContext, lifespan: Lifespan | None = None) -> FastAPI:
    app = FastAPI(
        title="TaskFlow tasks",
        version="1.0.0",
        description="Tasks, projects and sharing. Every error is application/problem+json.",
        lifespan=lifespan,
        # Server spans come from ServerSpanMiddleware (see tracing.py for why not FastAPI's
        # native telemetry); RED metrics from Prometheus.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.api = context

    # The task routes first: they are most of the traffic, and routing tries routes in order.
    app.router.routes.extend(tasks.fast_routes)
    app.include_router(tasks.router)
    app.include_router(projects.router)
    app.include_router(labels.router)
    app.include_router(admin.router)

    # Domain gauges (outbox backlog, open/overdue tasks) are refreshed per scrape, cached.
    app.include_router(ops_router(context.readiness, before_scrape=context.refresh_gauges))
    install_problem_handlers(app)
    install_domain_error_handler(app)
    app.add_middleware(RequestMetricsMiddleware, service="tasks")
    app.add_middleware(ServerSpanMiddleware, untraced_paths=_UNTRACED)
    return app
