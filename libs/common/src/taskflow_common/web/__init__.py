"""FastAPI glue (the fastapi extra): problem+json handlers, health, metrics, bearer auth."""

from taskflow_common.web.auth import BearerAuth
from taskflow_common.web.errors import install_problem_handlers, problem_response
from taskflow_common.web.ops import RequestMetricsMiddleware, ops_router

__all__ = [
    "BearerAuth",
    "RequestMetricsMiddleware",
    "install_problem_handlers",
    "ops_router",
    "problem_response",
]
