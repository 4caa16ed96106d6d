"""The composition root: the one place notify's adapters are chosen and wired.

`start_role()` is every distributed role's start (Django, adapters, telemetry, schema);
`configure()` builds and installs the adapters once Django is set up; `build_asgi()` assembles
the HTTP + WebSocket application; `event_bus()` and `subscribe_events()` are the consumer's bus
and its one subscription. The embedded mode passes its in-process JWKS and user lookup to
`configure()` and its own bus to `subscribe_events()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async

from taskflow_common.auth import JwksSource
from taskflow_common.djangoweb.registry import install
from taskflow_common.djangoweb.schema import migrate_schema
from taskflow_common.djangoweb.setup import setup_django as setup_django_for
from taskflow_common.health import ReadinessCheck, tcp_probe
from taskflow_common.instrumentation import asgi_server_spans, instrument
from taskflow_common.messaging import EventBus
from taskflow_common.process import start_observability, verifier_from_settings
from taskflow_notify.config import NotifySettings
from taskflow_notify.container import NotifyContainer
from taskflow_notify.ports import UserDirectory

DEFAULT_SETTINGS_MODULE = "taskflow_notify.settings.base"


def setup_django(settings_module: str = DEFAULT_SETTINGS_MODULE) -> None:
    """Set Django up with this service's settings (one settings module per process)."""
    setup_django_for("taskflow_notify", settings_module)


def start_role(*, migrate_verbosity: int = 0) -> NotifyContainer:
    """A distributed role's start: Django, this process's adapters and telemetry, the schema."""
    setup_django()
    container = configure()
    instrument("httpx", "redis", "psycopg")
    migrate_schema(container.settings.db_schema, verbosity=migrate_verbosity)
    return container


def configure(
    *,
    jwks: JwksSource | None = None,
    user_directory: UserDirectory | None = None,
    issuer: str | None = None,
    audience: str | None = None,
    logging_and_telemetry: bool = True,
) -> NotifyContainer:
    """Build this process's adapters from Django's settings and install them."""
    from django.apps import apps
    from django.conf import settings as django_settings

    from taskflow_notify.adapters.email import DjangoEmailSender
    from taskflow_notify.adapters.webhooks import HttpWebhookSender
    from taskflow_notify.celery_app import create_celery_app

    cfg: NotifySettings = django_settings.TASKFLOW_NOTIFY
    if logging_and_telemetry:
        start_observability(cfg, "taskflow-notify")
    verifier = verifier_from_settings(cfg, jwks=jwks, issuer=issuer, audience=audience)
    container = NotifyContainer(
        settings=cfg,
        verifier=verifier,
        users=user_directory or _keycloak_directory(cfg),
        email=DjangoEmailSender(),
        webhooks=HttpWebhookSender(
            allow_private=cfg.webhook_allow_private_networks, timeout=cfg.webhook_timeout_seconds
        ),
    )
    apps.get_app_config("notify").container = container
    install(verifier=verifier, checks=lambda: readiness_checks(cfg), name="notify")
    create_celery_app()
    return container


def _keycloak_directory(cfg: NotifySettings) -> UserDirectory:
    from redis import Redis

    from taskflow_notify.adapters.users import KeycloakUserDirectory

    return KeycloakUserDirectory(
        base_url=cfg.keycloak_url,
        realm=cfg.keycloak_realm,
        client_id=cfg.keycloak_gateway_client_id,
        client_secret=cfg.keycloak_gateway_secret.get_secret_value(),
        redis=Redis.from_url(cfg.redis_url, socket_timeout=5),  # connects lazily
        ttl_seconds=cfg.user_cache_ttl_seconds,
    )


def readiness_checks(cfg: NotifySettings) -> list[ReadinessCheck]:
    from urllib.parse import urlsplit

    def database() -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    checks = [ReadinessCheck("database", sync_to_async(database))]
    if cfg.channel_layer == "redis":
        redis = urlsplit(cfg.redis_url)
        checks.append(
            ReadinessCheck("redis", tcp_probe(redis.hostname or "127.0.0.1", redis.port or 6379))
        )
    if not cfg.celery_eager:
        broker = urlsplit(cfg.broker_url)
        checks.append(
            ReadinessCheck(
                "rabbitmq", tcp_probe(broker.hostname or "127.0.0.1", broker.port or 5672)
            )
        )
    return checks


def websocket_app() -> Any:
    from channels.routing import URLRouter

    from taskflow_notify.ws.routing import websocket_urlpatterns

    return URLRouter(websocket_urlpatterns)


def build_asgi() -> Callable[..., Any]:
    """HTTP (Django) + WebSocket (Channels) for the serve role."""
    from channels.routing import ProtocolTypeRouter
    from django.core.asgi import get_asgi_application

    router = ProtocolTypeRouter({"http": get_asgi_application(), "websocket": websocket_app()})
    return asgi_server_spans(router)


def event_bus(cfg: NotifySettings) -> EventBus:
    """The consume role's bus: RabbitMQ (the embedded mode brings its in-process one)."""
    from taskflow_common.messaging.amqp import AmqpEventBus

    return AmqpEventBus(cfg.amqp_url, prefetch=64)


async def subscribe_events(bus: EventBus) -> None:
    """Subscribe notify's event consumer on `bus`, the same way in both modes."""
    from taskflow_notify.event_consumer import subscribe

    await subscribe(bus)
