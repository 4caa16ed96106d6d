"""A service's two HTTP listeners: the public port, and the metrics port for operators.

One ASGI app serves both (one lifespan, one set of readiness checks). Requests that arrive on
the metrics port are marked in their ASGI scope, and only the operational paths are served
there; the ops endpoints (`web.ops`, `djangoweb.ops`) serve `/metrics` and the detailed
`/readyz` to marked requests only. The mark is a scope key set by the server side, so no
request header can forge it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

METRICS_LISTENER = "taskflow.metrics_listener"
# What the metrics port serves: the scrape, the operators' readiness detail, and liveness.
METRICS_LISTENER_PATHS = frozenset({"/metrics", "/readyz", "/healthz"})

log = logging.getLogger(__name__)


def on_metrics_listener(scope: Scope) -> bool:
    return bool(scope.get(METRICS_LISTENER))


class MetricsListenerSplit:
    """Marks requests that came in on `metrics_port`; anything but the ops paths there is 404."""

    def __init__(self, app: ASGIApp, metrics_port: int) -> None:
        self.app = app
        self.metrics_port = metrics_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or _local_port(scope) != self.metrics_port:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["path"] not in METRICS_LISTENER_PATHS:
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": b"not found\n"})
            return
        scope[METRICS_LISTENER] = True
        await self.app(scope, receive, send)


def _local_port(scope: Scope) -> int | None:
    server = scope.get("server")
    if not server or len(server) < 2 or server[1] is None:
        return None
    return int(server[1])


def serve_http(
    app: ASGIApp, *, host: str, port: int, metrics_port: int | None, **uvicorn_options: Any
) -> None:
    """Run `app` under uvicorn on `port`, and on `metrics_port` for /metrics and /readyz detail.

    Both sockets belong to one uvicorn server (one event loop, one lifespan). Without a metrics
    port the process serves no metrics at all: they never fall back to the public port.
    """
    import uvicorn

    if metrics_port is None:
        log.info("no metrics port (TASKFLOW_METRICS_PORT): /metrics is not served")
        uvicorn.run(app, host=host, port=port, **uvicorn_options)
        return
    if metrics_port == port:
        raise ValueError(f"the metrics port must differ from the public port ({port})")
    split = MetricsListenerSplit(app, metrics_port)
    config = uvicorn.Config(split, host=host, port=port, **uvicorn_options)
    # Only to bind the second socket (same options, so logging is configured the same way).
    metrics_config = uvicorn.Config(split, host=host, port=metrics_port, **uvicorn_options)
    sockets = [config.bind_socket(), metrics_config.bind_socket()]
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: Ctrl-C is a clean stop
        uvicorn.Server(config).run(sockets=sockets)
