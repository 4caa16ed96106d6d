"""The admin service's composition root."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async

from taskflow_admin.config import AdminSettings
from taskflow_common.auth import JwksSource
from taskflow_common.djangoweb.registry import install
from taskflow_common.djangoweb.setup import setup_django as setup_django_for
from taskflow_common.health import ReadinessCheck
from taskflow_common.process import start_observability, verifier_from_settings

DEFAULT_SETTINGS_MODULE = "taskflow_admin.settings.base"


def setup_django(settings_module: str = DEFAULT_SETTINGS_MODULE) -> None:
    """Set Django up with this service's settings (one settings module per process)."""
    setup_django_for("taskflow_admin", settings_module)


def configure(
    *,
    jwks: JwksSource | None = None,
    issuer: str | None = None,
    audience: str | None = None,
    logging_and_telemetry: bool = True,
) -> AdminSettings:
    """Install the verifier and readiness checks for this process."""
    from django.conf import settings as django_settings

    cfg: AdminSettings = django_settings.TASKFLOW_ADMIN
    if logging_and_telemetry:
        start_observability(cfg, "taskflow-admin")
    verifier = verifier_from_settings(cfg, jwks=jwks, issuer=issuer, audience=audience)
    install(verifier=verifier, checks=readiness_checks, name="admin")
    return cfg


def readiness_checks() -> list[ReadinessCheck]:
    def database() -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    return [ReadinessCheck("database", sync_to_async(database))]


def build_asgi() -> Callable[..., Any]:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    # Serves Django Admin's own CSS/JS from the installed apps (no collectstatic step).
    return ASGIStaticFilesHandler(get_asgi_application())
