"""FastAPI glue (the fastapi extra): problem+json handlers, health, metrics, bearer auth."""

from taskflow_common.web.auth import BearerAuth
from taskflow_common.web.errors import (
    document_problem_responses,
    install_problem_handlers,
    install_unavailable_handler,
    problem_response,
)
from taskflow_common.web.ops import RequestMetricsMiddleware, ops_router

__all__ = [
    "BearerAuth",
    "RequestMetricsMiddleware",
    "document_problem_responses",
    "install_problem_handlers",
    "install_unavailable_handler",
    "ops_router",
    "problem_response",
]
