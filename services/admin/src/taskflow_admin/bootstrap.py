"""The admin service's composition root."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from asgiref.sync import sync_to_async

from taskflow_admin.config import AdminSettings
from taskflow_admin.directory import UserDirectory
from taskflow_admin.upstream import ServiceClient
from taskflow_common.auth import JwksSource
from taskflow_common.djangoweb.registry import install
from taskflow_common.djangoweb.setup import setup_django as setup_django_for
from taskflow_common.health import ReadinessCheck
from taskflow_common.instrumentation import asgi_server_spans
from taskflow_common.messaging import EventBus
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
    directory: UserDirectory | None = None,
    http: httpx.Client | None = None,
) -> AdminSettings:
    """Install the verifier, readiness checks and the console's adapters for this process.

    `directory`: where the realm's users are read and managed (default: Keycloak's admin API;
    the embedded mode passes its own); `http`: the client for the other services' APIs.
    """
    from django.apps import apps
    from django.conf import settings as django_settings

    from taskflow_admin.container import AdminContainer
    from taskflow_admin.upstream import TasksAdminApi

    cfg: AdminSettings = django_settings.TASKFLOW_ADMIN
    if logging_and_telemetry:
        start_observability(cfg, "taskflow-admin")
    verifier = verifier_from_settings(cfg, jwks=jwks, issuer=issuer, audience=audience)
    install(verifier=verifier, checks=readiness_checks, name="admin")
    services = service_clients(cfg, http or upstream_http(cfg))
    apps.get_app_config("taskflow_admin").container = AdminContainer(
        directory=directory or keycloak_directory(cfg),
        tasks=TasksAdminApi(services["tasks"]),
        services=services,
    )
    return cfg


def upstream_http(cfg: AdminSettings) -> httpx.Client:
    """One pooled client for every call to the other services."""
    return httpx.Client(timeout=cfg.upstream_timeout_seconds, follow_redirects=False)


def service_clients(cfg: AdminSettings, http: httpx.Client) -> dict[str, ServiceClient]:
    urls = {"tasks": cfg.tasks_url, "notify": cfg.notify_url, "suggest": cfg.suggest_url}
    return {name: ServiceClient(name, url, http) for name, url in urls.items()}


def keycloak_directory(cfg: AdminSettings) -> UserDirectory:
    from taskflow_admin.directory import KeycloakUserDirectory

    return KeycloakUserDirectory(
        server_url=cfg.keycloak_url,
        realm=cfg.keycloak_realm,
        client_id=cfg.keycloak_admin_ui_client_id,
        client_secret=cfg.keycloak_admin_ui_secret.get_secret_value(),
        admin_role=cfg.admin_role,
        reset_link_seconds=cfg.password_reset_link_seconds,
        timeout=cfg.oidc_timeout_seconds,
    )


def readiness_checks() -> list[ReadinessCheck]:
    def database() -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    return [ReadinessCheck("database", sync_to_async(database))]


def event_bus(cfg: AdminSettings) -> EventBus:
    """The serve role's bus: RabbitMQ (the embedded mode brings its in-process one)."""
    from taskflow_common.messaging.amqp import AmqpEventBus

    return AmqpEventBus(cfg.amqp_url)


async def start_audit_relay(bus: EventBus) -> Any:
    """The audit relay on the running event loop; `await stop()` on what it returns."""
    from django.conf import settings as django_settings

    from taskflow_admin.audit_relay import AuditRelay, RunningRelay

    cfg: AdminSettings = django_settings.TASKFLOW_ADMIN
    return RunningRelay(AuditRelay(bus, poll_seconds=cfg.audit_relay_poll_seconds))


def build_asgi(bus: EventBus | None = None) -> Callable[..., Any]:
    """Django (HTTP) with a lifespan that runs the audit relay on `bus` (default: RabbitMQ)."""
    from django.conf import settings as django_settings
    from django.core.asgi import get_asgi_application

    # Static files: WhiteNoise, in the middleware (taskflow_admin.static_files).
    django_app = asgi_server_spans(get_asgi_application())
    return WithAuditRelay(django_app, bus or event_bus(django_settings.TASKFLOW_ADMIN))


class WithAuditRelay:
    """Answers the ASGI lifespan (Django does not): the relay starts with the server and
    stops with it; the bus connects inside the relay's loop, so a broker that is down does
    not keep the admin UI from serving."""

    def __init__(self, app: Callable[..., Any], bus: EventBus) -> None:
        self.app = app
        self.bus = bus

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        relay = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                relay = await start_audit_relay(self.bus)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if relay is not None:
                    await relay.stop()
                await self.bus.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
