"""What every process's composition root does first: logs, telemetry, the token verifier."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from taskflow_common.auth import JwksCache, JwksSource, JwtVerifier, http_jwks_source
from taskflow_common.logs import configure_logging
from taskflow_common.settings import BaseServiceSettings
from taskflow_common.telemetry import init_telemetry

T = TypeVar("T")


def start_observability(settings: BaseServiceSettings, default_name: str) -> None:
    """JSON logs and OpenTelemetry for this process, named by OTEL_SERVICE_NAME if set."""
    name = settings.otel_service_name or default_name
    configure_logging(name, settings.log_level, settings.log_json)
    init_telemetry(
        name,
        otlp_endpoint=settings.otel_exporter_otlp_endpoint,
        otlp_protocol=settings.otel_exporter_otlp_protocol,
        disabled=settings.otel_sdk_disabled,
    )


def verifier_from_settings(
    settings: BaseServiceSettings,
    *,
    jwks: JwksSource | None = None,
    issuer: str | None = None,
    audience: str | None = None,
) -> JwtVerifier:
    """The bearer-token verifier; the embedded mode passes the in-process identity's parts."""
    return JwtVerifier(
        issuer=issuer or settings.oidc_issuer,
        audience=audience or settings.oidc_audience,
        jwks=JwksCache(
            jwks or http_jwks_source(settings.jwks_url),
            min_refresh_interval=settings.jwks_min_refresh_seconds,
        ),
        leeway_seconds=settings.jwt_leeway_seconds,
    )


def serve_metrics(port: int | None, host: str = "127.0.0.1") -> bool:
    """/metrics on its own port, for roles without an HTTP server (consumers, workers).

    Returns False (and logs) when the port is taken, so a second copy on one host still runs.
    """
    if port is None:
        return False
    from prometheus_client import start_http_server

    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        logging.getLogger(__name__).warning("metrics port %s unavailable: %s", port, exc)
        return False
    return True


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` for a background role's main coroutine, on uvloop when it is installed.

    uvloop (libuv's event loop, which the HTTP roles already get from uvicorn) spends much
    less CPU per socket read and write than the pure-Python selector loop, and the consumers
    and the relay do little else.
    """
    try:
        import uvloop
    except ImportError:  # uvicorn[standard] brings it everywhere the services run
        return asyncio.run(main)
    return uvloop.run(main)
