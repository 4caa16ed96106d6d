"""Notify's settings: only this service's fields on top of the shared base."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from taskflow_common.settings import BaseServiceSettings


class NotifySettings(BaseServiceSettings):
    service_name: str = "notify"
    host: str = "127.0.0.1"
    port: int = 8003
    # Origins besides the request's own (scheme and host as the gateway forwards them) that may
    # POST forms, e.g. ["https://taskflow.example.com"] when the public host differs.
    csrf_trusted_origins: list[str] = Field(default_factory=list)

    database_url: str = "postgresql://taskflow:taskflow@127.0.0.1:55432/taskflow"
    db_schema: str = "notify"
    redis_url: str = "redis://127.0.0.1:56379/0"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:55672/"
    celery_broker_url: str | None = None
    celery_eager: bool = False
    celery_queue: str = "taskflow.notify.deliveries"
    channel_layer: Literal["redis", "memory"] = "redis"
    secret_key: SecretStr = SecretStr("notify-insecure-dev-key")
    debug: bool = False

    # Email: Django's SMTP backend (Mailpit locally); locmem/console for the embedded mode.
    email_backend: Literal["smtp", "locmem", "console"] = "smtp"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_use_tls: bool = False
    smtp_timeout_seconds: float = 10.0
    email_from: str = "TaskFlow <notifications@taskflow.local>"

    # Users' email addresses: Keycloak's admin API through the gateway's service account.
    keycloak_url: str = "http://127.0.0.1:8180"
    keycloak_realm: str = "taskflow"
    keycloak_gateway_client_id: str = "taskflow-gateway"
    keycloak_gateway_secret: SecretStr = SecretStr("taskflow-gateway-dev-secret")
    user_cache_ttl_seconds: int = Field(default=300, ge=0)

    # Deliveries: bounded retries with exponential backoff.
    # Attempts per delivery, those of workers that died mid-send included.
    delivery_max_attempts: int = Field(default=8, ge=1, le=30)
    # How long a claimed attempt is its worker's before another worker may take the delivery
    # over (the first one died): longer than any attempt, the webhook deadline and SMTP included.
    delivery_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    delivery_retry_base_seconds: float = Field(default=2.0, gt=0)
    delivery_retry_max_seconds: float = Field(default=600.0, gt=0)
    # One webhook attempt's total deadline: connect, TLS, request and answer together.
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    # Loopback/private webhook targets are refused (SSRF) unless a test/dev setup allows them.
    webhook_allow_private_networks: bool = False
    webhooks_per_user: int = Field(default=20, ge=1)

    ws_heartbeat_seconds: float = Field(default=25.0, gt=0)
    # Change feeds (sync tokens): how long, and how many entries per user, a token is served.
    feed_retention_days: float = Field(default=7.0, gt=0, le=365)
    feed_max_entries_per_user: int = Field(default=10_000, ge=100)

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> NotifySettings:
        if self.delivery_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError(
                "TASKFLOW_DELIVERY_LEASE_SECONDS must exceed TASKFLOW_WEBHOOK_TIMEOUT_SECONDS: "
                "a lease ending mid-attempt lets a second worker send the same delivery"
            )
        return self

    @property
    def broker_url(self) -> str:
        return self.celery_broker_url or self.amqp_url
