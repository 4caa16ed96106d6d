"""The FastAPI application: routes, problem+json errors, ops endpoints, RED metrics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from taskflow_common.health import ReadinessCheck
from taskflow_common.problems import Problem
from taskflow_common.web import (
    BearerAuth,
    RequestMetricsMiddleware,
    install_problem_handlers,
    ops_router,
    problem_response,
)
from taskflow_suggest.application.errors import (
    BadCursorError,
    SuggestionNotFoundError,
    TaskChangeForbiddenError,
    TaskNotFoundError,
    TasksUnavailableError,
)
from taskflow_suggest.application.handlers import SuggestDeps
from taskflow_suggest.interfaces.http import admin_routes
from taskflow_suggest.interfaces.http.routes import router

_PROBLEMS: dict[type[Exception], Problem] = {
    TaskNotFoundError: Problem(404, "not-found", detail="The task does not exist."),
    SuggestionNotFoundError: Problem(404, "not-found", detail="The suggestion does not exist."),
    TaskChangeForbiddenError: Problem(
        403, "forbidden", detail="You may see this task but not change it."
    ),
    BadCursorError: Problem(400, "bad-cursor", detail="The cursor is not one this API issued."),
    TasksUnavailableError: Problem(
        503, "tasks-unavailable", detail="The tasks service did not answer; retry shortly."
    ),
}


def build_http_app(
    *,
    deps: SuggestDeps,
    auth: BearerAuth,
    checks: Callable[[], Sequence[ReadinessCheck]],
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]] | None = None,
    admin_role: str = "admin",
) -> FastAPI:
    app = FastAPI(
        title="TaskFlow suggestions",
        version="1.0.0",
        description="Priority suggestions (LLM with a heuristic fallback), feedback, day plan.",
        lifespan=lifespan,
    )
    app.state.suggest_deps = deps
    app.state.bearer_auth = auth
    app.state.admin_role = admin_role  # the realm role /api/v1/admin/* requires
    install_problem_handlers(app)

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        problem = _PROBLEMS[type(exc)]
        headers = {"Retry-After": "2"} if problem.status == 503 else None
        return problem_response(problem, headers, request.url.path)

    for error in _PROBLEMS:
        app.add_exception_handler(error, on_domain_error)
    app.include_router(router)
    app.include_router(admin_routes.router)
    app.include_router(ops_router(checks))
    app.add_middleware(RequestMetricsMiddleware, service="suggest")
    return app
