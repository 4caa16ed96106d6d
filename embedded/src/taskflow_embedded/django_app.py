"""notify + admin as one ASGI app for the embedded mode (one Django settings module).

`build_django_asgi` sets Django up with `taskflow_embedded.django_settings`, wires both
services with the in-process JWKS and the development identity provider, and returns an ASGI
app for HTTP and the `/ws/notifications` WebSocket. Its lifespan startup migrates each
service's schema (notify's and admin's, each through its own database alias), subscribes
notify's event handler on the in-process bus and starts admin's audit relay on it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from asgiref.sync import sync_to_async

from taskflow_common.auth import JwksSource
from taskflow_common.messaging import EventBus

SETTINGS_MODULE = "taskflow_embedded.django_settings"
# How the URL reaches the settings module, which django.setup() imports (not a user setting).
DATABASE_URL_ENV = "TASKFLOW_EMBEDDED_DATABASE_URL"
# The suite's public URL (the identity provider's issuer): --host/--port may differ from env.
PUBLIC_URL_ENV = "TASKFLOW_EMBEDDED_PUBLIC_URL"


def build_django_asgi(
    *,
    bus: EventBus,
    jwks: JwksSource,
    user_directory: Any,
    issuer: str | None = None,
    audience: str | None = None,
    data_dir: Path | None = None,
    database_url: str,
    service_http: httpx.Client | None = None,
) -> DjangoSuite:
    """`user_directory`: an object with `get_user(user_id)`, or that callable itself.

    `issuer`/`audience` are the development identity provider's (default: the embedded
    settings' public URL); `data_dir` defaults to TASKFLOW_DATA_DIR; `database_url` is the
    embedded PostgreSQL's application role; `service_http`: the client admin calls the other
    services with (in_process_http).
    """
    # The settings module reads these when django.setup() imports it, just below.
    if data_dir is not None:
        os.environ["TASKFLOW_DATA_DIR"] = str(data_dir)
    os.environ[DATABASE_URL_ENV] = database_url
    if issuer is not None:
        os.environ[PUBLIC_URL_ENV] = issuer
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    if os.environ["DJANGO_SETTINGS_MODULE"] != SETTINGS_MODULE:
        raise RuntimeError(
            f"DJANGO_SETTINGS_MODULE is {os.environ['DJANGO_SETTINGS_MODULE']!r}; the embedded "
            f"mode needs {SETTINGS_MODULE!r} (one Django settings module per process)"
        )
    import django

    django.setup(set_prefix=False)
    from channels.routing import ProtocolTypeRouter
    from django.core.asgi import get_asgi_application

    from taskflow_admin import bootstrap as admin_bootstrap
    from taskflow_notify import bootstrap as notify_bootstrap
    from taskflow_notify.adapters.users import CallableUserDirectory

    get_user = getattr(user_directory, "get_user", user_directory)
    notify_bootstrap.configure(
        jwks=jwks,
        user_directory=CallableUserDirectory(get_user),
        issuer=issuer,
        audience=audience,
        logging_and_telemetry=False,
    )
    from taskflow_admin.directory import UnavailableDirectory

    admin_bootstrap.configure(
        jwks=jwks,
        issuer=issuer,
        audience=audience,
        logging_and_telemetry=False,
        http=service_http,
        # The development identity provider has no admin API to manage its users through.
        directory=UnavailableDirectory(
            "User management needs Keycloak: the embedded mode's development identity "
            "provider keeps its users in files and has no admin API."
        ),
    )
    router = ProtocolTypeRouter(
        {
            # Static files: WhiteNoise, in admin's middleware (taskflow_admin.static_files).
            "http": get_asgi_application(),
            "websocket": notify_bootstrap.websocket_app(),
        }
    )
    return DjangoSuite(router, bus)


class DjangoSuite:
    """The router, plus a lifespan that migrates, subscribes notify on the bus and runs
    admin's audit relay on it."""

    def __init__(self, router: Any, bus: EventBus) -> None:
        self.router = router
        self.bus = bus
        self.started = False
        self._audit_relay: Any = None

    async def start(self) -> None:
        """Idempotent; the lifespan calls it, callers without a lifespan may too."""
        if self.started:
            return
        from taskflow_admin import bootstrap as admin_bootstrap
        from taskflow_notify import bootstrap as notify_bootstrap

        await sync_to_async(_migrate_every_schema)()
        await notify_bootstrap.subscribe_events(self.bus)
        self._audit_relay = await admin_bootstrap.start_audit_relay(self.bus)
        self.started = True

    async def stop(self) -> None:
        if self._audit_relay is not None:
            await self._audit_relay.stop()
            self._audit_relay = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.router(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _migrate_every_schema() -> None:
    """Each alias's schema first (Django's migration table lives in it), then its apps."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    for alias, schema in settings.TASKFLOW_SCHEMAS.items():
        with connections[alias].cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        call_command("migrate", database=alias, interactive=False, verbosity=0)
