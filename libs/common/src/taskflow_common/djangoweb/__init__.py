"""Django + DRF glue (the django extra): problem+json errors, JWT authentication, ops views.

The Django counterpart of `taskflow_common.web` (FastAPI). A composition root installs the
verifier and readiness checks once per process (`install`); Django's one-settings-per-process
model means there is exactly one such registry per process, shared by every Django app in it.
"""

from taskflow_common.djangoweb.auth import (
    HasRealmRole,
    IsAuthenticatedPrincipal,
    JwtAuthentication,
    PrincipalUser,
)
from taskflow_common.djangoweb.errors import (
    drf_exception_handler,
    handler400,
    handler403,
    handler404,
    handler500,
    problem_json,
)
from taskflow_common.djangoweb.ops import RequestMetricsMiddleware, ops_urlpatterns
from taskflow_common.djangoweb.registry import install, installed_checks, installed_verifier

__all__ = [
    "HasRealmRole",
    "IsAuthenticatedPrincipal",
    "JwtAuthentication",
    "PrincipalUser",
    "RequestMetricsMiddleware",
    "drf_exception_handler",
    "handler400",
    "handler403",
    "handler404",
    "handler500",
    "install",
    "installed_checks",
    "installed_verifier",
    "ops_urlpatterns",
    "problem_json",
]
