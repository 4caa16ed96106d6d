"""The settings base every service extends (pydantic-settings).

Service settings use the `TASKFLOW_` prefix; OpenTelemetry's standard `OTEL_*` variables are
read unprefixed. Settings objects are built in a composition root, never at import time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

# Values that ship as development defaults. In production each of them is refused, so a
# deployment that forgot to set a secret fails at start instead of running with a known key.
PLACEHOLDER_MARKERS = ("changeme", "change-me", "dev-secret", "insecure", "placeholder")
PLACEHOLDER_VALUES = frozenset({"", "secret", "password", "guest", "admin", "taskflow"})


class PlaceholderSecretError(ValueError):
    """A secret still holds a development placeholder while TASKFLOW_ENV=production."""


def is_placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered in PLACEHOLDER_VALUES or any(m in lowered for m in PLACEHOLDER_MARKERS)


class BaseServiceSettings(BaseSettings):
    """Fields every TaskFlow process shares."""

    model_config = SettingsConfigDict(
        env_prefix="TASKFLOW_", extra="ignore", env_nested_delimiter="__"
    )

    # development | test | production (production refuses placeholder secrets and dev modes).
    env: Environment = "development"
    # The name on logs (and on spans unless OTEL_SERVICE_NAME is set).
    service_name: str = "taskflow"
    # Root log level.
    log_level: str = "INFO"
    # JSON log lines with trace_id/span_id (false: plain text for local debugging).
    log_json: bool = True

    # The metrics listener, on the same host: /metrics, and /readyz with each check's reason
    # (serve roles also answer /healthz there). The public port never serves metrics; unset:
    # none are served (notify's consume/worker fall back to 9104/9105).
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    # Identity: where tokens come from and who they are for.
    oidc_issuer: str = "http://127.0.0.1:8180/realms/taskflow"
    # The audience every access token must carry.
    oidc_audience: str = "taskflow-api"
    # Signing keys; unset means the issuer's /protocol/openid-connect/certs.
    oidc_jwks_url: str | None = None
    # Clock skew tolerated on exp/nbf.
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=120)
    # At most one JWKS refresh per interval when a token names an unknown kid.
    jwks_min_refresh_seconds: float = Field(default=30.0, ge=0)
    # The Keycloak realm role a token must carry for a service's /api/v1/admin/* endpoints.
    admin_role: str = Field(default="admin", min_length=1)

    # OpenTelemetry: standard variables, read without the TASKFLOW_ prefix.
    otel_service_name: str | None = Field(default=None, validation_alias="OTEL_SERVICE_NAME")
    # OTLP trace export target, e.g. http://127.0.0.1:4317; unset means no export.
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    # grpc or http/protobuf.
    otel_exporter_otlp_protocol: str = Field(
        default="grpc", validation_alias="OTEL_EXPORTER_OTLP_PROTOCOL"
    )
    # true: no tracer provider at all.
    otel_sdk_disabled: bool = Field(default=False, validation_alias="OTEL_SDK_DISABLED")

    @property
    def jwks_url(self) -> str:
        return self.oidc_jwks_url or f"{self.oidc_issuer}/protocol/openid-connect/certs"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> BaseServiceSettings:
        if not self.is_production:
            return self
        offending = [
            name
            for name, value in self
            if isinstance(value, SecretStr) and is_placeholder(value.get_secret_value())
        ]
        offending += [
            name
            for name, value in self
            if isinstance(value, str) and _url_has_placeholder_password(value)
        ]
        if offending:
            raise PlaceholderSecretError(
                "TASKFLOW_ENV=production refuses development placeholder secrets in: "
                + ", ".join(sorted(offending))
                + ". Set real values through the environment or a secret store."
            )
        return self


def _url_has_placeholder_password(value: str) -> bool:
    """True for URLs such as amqp://guest:guest@host/ that embed a placeholder password."""
    if "://" not in value or "@" not in value:
        return False
    userinfo = value.split("://", 1)[1].split("@", 1)[0]
    if ":" not in userinfo:
        return False
    return is_placeholder(userinfo.split(":", 1)[1])
