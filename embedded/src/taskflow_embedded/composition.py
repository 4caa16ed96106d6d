"""The embedded suite's composition root: one bus, one identity provider, every service
app in-process behind the gateway."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import httpx

from taskflow_admin.config import AdminSettings
from taskflow_auth_gateway.application.code_flow import (
    DevAuthorizationServer,
    OidcClient,
)
from taskflow_auth_gateway.bootstrap import create_app as create_gateway
from taskflow_auth_gateway.config import GatewaySettings
from taskflow_auth_gateway.infrastructure.identity.dev import DevIdentityProvider
from taskflow_auth_gateway.infrastructure.ratelimit.memory import InMemoryRateLimiter
from taskflow_auth_gateway.infrastructure.upstream.asgi import AppLifespan, AsgiUpstream
from taskflow_common.auth import static_jwks_source
from taskflow_common.messaging import InProcessEventBus
from taskflow_embedded import dev_admin
from taskflow_embedded.config import PRODUCTION_REFUSED, EmbeddedSettings
from taskflow_embedded.in_process_http import InProcessTransport
from taskflow_embedded.services import SharedParts, build_service_apps
from taskflow_embedded.upstream_urlconf import for_upstream

log = logging.getLogger(__name__)


class ProductionRefusedError(RuntimeError):
    pass


def build_embedded_app(settings: EmbeddedSettings, *, database_url: str) -> Any:
    """`database_url`: the application role's URL on the embedded PostgreSQL (every service
    gets it and keeps to its own schema)."""
    if settings.is_production:
        raise ProductionRefusedError(PRODUCTION_REFUSED)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    admin = AdminSettings()
    gateway_settings = GatewaySettings(
        env=settings.env,
        identity_provider="development",
        rate_limiter="memory",
        data_dir=settings.data_dir,
        public_url=settings.public_url,
        host=settings.host,
        port=settings.port,
    )
    identity = DevIdentityProvider(
        data_dir=settings.data_dir,
        issuer=settings.public_url,
        audience=gateway_settings.oidc_audience,
        environment=settings.env,
        admin_usernames=frozenset(settings.dev_admin_usernames),
        # The role the admin service requires (TASKFLOW_ADMIN_ROLE), so dev admins carry it.
        admin_role=admin.admin_role,
    )
    configured = settings.dev_admin_password
    password, generated = dev_admin.admin_password(
        configured.get_secret_value() if configured else None, settings.data_dir
    )
    identity.ensure_administrator(dev_admin.USERNAME, password)
    if generated:
        print(
            f"Development administrator for {settings.public_url}/admin/: {dev_admin.USERNAME} / "
            f"{password} (kept in {settings.data_dir / dev_admin.PASSWORD_FILE}; set "
            "TASKFLOW_DEV_ADMIN_PASSWORD to choose it)",
            file=sys.stderr,
        )
    bus = InProcessEventBus()
    services = InProcessTransport()
    shared = SharedParts(
        bus=bus,
        jwks=static_jwks_source(identity.jwks),
        issuer=identity.issuer,
        audience=gateway_settings.oidc_audience,
        data_dir=settings.data_dir,
        database_url=database_url,
        user_directory=identity,
        service_http=httpx.Client(transport=services, timeout=30.0, follow_redirects=False),
    )
    apps = build_service_apps(shared)

    # notify and admin share one Django app: one lifespan, two upstream names, each seeing its
    # own service's URLconf (upstream_urlconf).
    django_lifespan = AppLifespan(apps.django, "notify+admin")
    upstreams = {
        "tasks": AsgiUpstream("tasks", apps.tasks),
        "suggest": AsgiUpstream("suggest", apps.suggest),
        "notify": AsgiUpstream(
            "notify", for_upstream(apps.django, "notify"), lifespan=django_lifespan
        ),
        "admin": AsgiUpstream(
            "admin", for_upstream(apps.django, "admin"), lifespan=django_lifespan
        ),
    }
    # Admin's calls to the services reach the apps the gateway started.
    for name in ("tasks", "notify", "suggest"):
        services.route(name, upstreams[name].forward_http)
    gateway = create_gateway(
        gateway_settings,
        identity=identity,
        upstreams=upstreams,
        limiter=InMemoryRateLimiter(),
        jwks=shared.jwks,
        authorization_server=admin_sign_in(identity, admin, settings.public_url),
    )
    return WithBus(gateway, bus, services)


def admin_sign_in(
    identity: DevIdentityProvider, admin: AdminSettings, public_url: str
) -> DevAuthorizationServer:
    """The admin site's OIDC client, registered with the development provider as the realm
    registers it with Keycloak: its id and secret, codes only to the site's own pages."""
    client = OidcClient(
        client_id=admin.keycloak_admin_ui_client_id,
        secret=admin.keycloak_admin_ui_secret.get_secret_value(),
        redirect_uri_prefix=f"{public_url}/admin/",
    )
    return DevAuthorizationServer(identity, {client.client_id: client})


class WithBus:
    """Starts the in-process bus before the services start, closes it after they stop."""

    def __init__(self, app: Any, bus: InProcessEventBus, services: InProcessTransport) -> None:
        self.app = app
        self.bus = bus
        self.services = services

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def bus_receive() -> Any:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.services.bind(asyncio.get_running_loop())
                await self.bus.start()
            return message

        async def bus_send(message: Any) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.bus.close()
            await send(message)

        await self.app(scope, bus_receive, bus_send)
