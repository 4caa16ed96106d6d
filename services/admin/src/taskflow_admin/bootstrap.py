"""The admin service's composition root."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async

from taskflow_admin.config import AdminSettings
from taskflow_common.auth import JwksCache, JwksSource, JwtVerifier, http_jwks_source
from taskflow_common.djangoweb.registry import install
from taskflow_common.health import ReadinessCheck
from taskflow_common.logs import configure_logging
from taskflow_common.telemetry import init_telemetry

DEFAULT_SETTINGS_MODULE = "taskflow_admin.settings.base"


def setup_django(settings_module: str = DEFAULT_SETTINGS_MODULE) -> None:
    """Set Django up with this service's settings (one settings module per process).

    A DJANGO_SETTINGS_MODULE inherited from a parent process is honoured only if it is one of
    this service's own modules (e.g. its test settings); anything else would boot the wrong app.
    """
    inherited = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    if not inherited.startswith("taskflow_admin.settings."):
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup(set_prefix=False)


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
        configure_logging(cfg.otel_service_name or "taskflow-admin", cfg.log_level, cfg.log_json)
        init_telemetry(
            cfg.otel_service_name or "taskflow-admin",
            otlp_endpoint=cfg.otel_exporter_otlp_endpoint,
            otlp_protocol=cfg.otel_exporter_otlp_protocol,
            disabled=cfg.otel_sdk_disabled,
        )
    verifier = JwtVerifier(
        issuer=issuer or cfg.oidc_issuer,
        audience=audience or cfg.oidc_audience,
        jwks=JwksCache(
            jwks or http_jwks_source(cfg.jwks_url),
            min_refresh_interval=cfg.jwks_min_refresh_seconds,
        ),
        leeway_seconds=cfg.jwt_leeway_seconds,
    )
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
