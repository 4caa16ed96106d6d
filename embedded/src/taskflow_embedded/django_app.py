"""notify + admin as one ASGI app for the embedded mode (one Django settings module).

`build_django_asgi` sets Django up with `taskflow_embedded.django_settings`, wires both
services with the in-process JWKS and the development identity provider, and returns an ASGI
app for HTTP and the `/ws/notifications` WebSocket. Its lifespan startup migrates the SQLite
database and subscribes notify's event handler on the in-process bus.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async

from taskflow_common.auth import JwksSource
from taskflow_common.messaging import EventBus

SETTINGS_MODULE = "taskflow_embedded.django_settings"


def build_django_asgi(
    *,
    bus: EventBus,
    jwks: JwksSource,
    user_directory: Any,
    issuer: str | None = None,
    audience: str | None = None,
    data_dir: Path | None = None,
) -> DjangoSuite:
    """`user_directory`: an object with `get_user(user_id)`, or that callable itself.

    `issuer`/`audience` are the development identity provider's (default: the embedded
    settings' public URL); `data_dir` holds the SQLite file (default: TASKFLOW_DATA_DIR).
    """
    if data_dir is not None:
        # The settings module reads it when django.setup() imports it, just below.
        os.environ["TASKFLOW_DATA_DIR"] = str(data_dir)
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
    admin_bootstrap.configure(
        jwks=jwks, issuer=issuer, audience=audience, logging_and_telemetry=False
    )
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    router = ProtocolTypeRouter(
        {
            "http": ASGIStaticFilesHandler(get_asgi_application()),
            "websocket": notify_bootstrap.websocket_app(),
        }
    )
    return DjangoSuite(router, bus)


class DjangoSuite:
    """The router, plus a lifespan that migrates and subscribes notify on the bus."""

    def __init__(self, router: Any, bus: EventBus) -> None:
        self.router = router
        self.bus = bus
        self.started = False

    async def start(self) -> None:
        """Idempotent; the lifespan calls it, callers without a lifespan may too."""
        if self.started:
            return
        from django.core.management import call_command

        from taskflow_notify.consumers.events import CONSUMER, PATTERNS, make_event_handler

        await sync_to_async(call_command)("migrate", interactive=False, verbosity=0)
        await self.bus.subscribe(CONSUMER, PATTERNS, make_event_handler())
        self.started = True

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
                await send({"type": "lifespan.shutdown.complete"})
                return
