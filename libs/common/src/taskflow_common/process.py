"""What every process's composition root does first: logs, telemetry, the token verifier."""

from __future__ import annotations

from taskflow_common.auth import JwksCache, JwksSource, JwtVerifier, http_jwks_source
from taskflow_common.logs import configure_logging
from taskflow_common.settings import BaseServiceSettings
from taskflow_common.telemetry import init_telemetry


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
