"""The gateway's settings: only what the front door itself needs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from taskflow_common.settings import BaseServiceSettings


class RateLimitRule(BaseModel):
    """`rate` requests per `period_seconds`, with room for a burst of `burst` at once."""

    rate: float = Field(gt=0)
    period_seconds: float = Field(gt=0)
    burst: int = Field(ge=1)


def _default_rate_limits() -> dict[str, RateLimitRule]:
    return {
        # Credential-guessing and sign-up spam: per client IP.
        "auth_credentials": RateLimitRule(rate=10, period_seconds=60, burst=10),
        # refresh / logout / me: per client IP, looser (clients refresh every few minutes).
        "auth_session": RateLimitRule(rate=60, period_seconds=60, burst=30),
        # Everything behind /api, /ws and /admin: per verified user.
        "api": RateLimitRule(rate=100, period_seconds=1, burst=200),
    }


class GatewaySettings(BaseServiceSettings):
    service_name: str = "auth-gateway"
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"

    # Which identity backend answers /auth/*: Keycloak (distributed) or the development one.
    identity_provider: Literal["keycloak", "development"] = "keycloak"
    keycloak_url: str = "http://127.0.0.1:8180"
    keycloak_realm: str = "taskflow"
    # Same names as `scripts/stack env` prints (TASKFLOW_KEYCLOAK_GATEWAY_*).
    keycloak_gateway_client_id: str = "taskflow-gateway"
    keycloak_gateway_secret: SecretStr = SecretStr("taskflow-gateway-dev-secret")
    data_dir: Path = Path(".data")

    # Upstreams (distributed mode).
    tasks_url: str = "http://127.0.0.1:8001"
    suggest_url: str = "http://127.0.0.1:8002"
    notify_url: str = "http://127.0.0.1:8003"
    admin_url: str = "http://127.0.0.1:8004"
    upstream_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    upstream_pool_size: int = Field(default=256, ge=1)
    openapi_refresh_seconds: float = Field(default=60.0, ge=0)
    # permessage-deflate towards clients. Off by default: frames are small JSON, and deflating
    # each one cost the gateway (and every client) more CPU than it saved in bytes.
    ws_compression: bool = False

    # Rate limits: Redis (shared by every gateway replica) or memory (one process).
    rate_limiter: Literal["redis", "memory", "off"] = "redis"
    redis_url: str = "redis://127.0.0.1:56379/0"
    rate_limits: dict[str, RateLimitRule] = Field(default_factory=_default_rate_limits)
    # How long one Redis connect or reply may take before the request is let through.
    rate_limiter_timeout_seconds: float = Field(default=0.5, gt=0)
    # After Redis failed, requests are let through without trying Redis for this long.
    rate_limiter_backoff_seconds: float = Field(default=5.0, gt=0)

    # Hygiene.
    max_body_bytes: int = Field(default=1024 * 1024, ge=0)
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    max_header_count: int = Field(default=100, ge=10)
    max_url_bytes: int = Field(default=8 * 1024, ge=256)
    cors_allow_origins: list[str] = Field(default_factory=list)
    # Peers whose X-Forwarded-For we extend instead of replacing (an ingress in front of us).
    trusted_proxies: list[str] = Field(default_factory=list)

    @field_validator("rate_limits", mode="after")
    @classmethod
    def _keep_default_groups(cls, value: dict[str, RateLimitRule]) -> dict[str, RateLimitRule]:
        """Overriding one group (e.g. only "api") must not silently unlimit the others."""
        return {**_default_rate_limits(), **value}
