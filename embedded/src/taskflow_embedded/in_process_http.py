"""The admin service's calls to the other services' APIs, in-process in the embedded mode.

The admin console is synchronous Django (its views run in worker threads; the dashboard asks
the services from a thread each) and calls the services with a blocking httpx client. Here
the services are ASGI apps on the suite's one event loop, started by the gateway: each call is
handed to that loop and waited for, so it reaches the same started app (its database pool,
its bus) the gateway's traffic reaches, as in the distributed mode it reaches the service.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

AsgiApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
# The base URLs the admin service is given in the embedded mode (AdminSettings *_url).
SERVICE_URLS = {
    "tasks": "http://tasks.in-process",
    "notify": "http://notify.in-process",
    "suggest": "http://suggest.in-process",
}


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, timeout: float = 30.0) -> None:
        self._services: dict[str, httpx.ASGITransport] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._timeout = timeout

    def route(self, name: str, app: AsgiApp) -> None:
        host = httpx.URL(SERVICE_URLS[name]).host
        self._services[host] = httpx.ASGITransport(app=app)  # type: ignore[arg-type]

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the services run on (set when the suite starts)."""
        self._loop, self._loop_thread = loop, threading.get_ident()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        service = self._services.get(request.url.host)
        if service is None or self._loop is None:
            raise httpx.ConnectError(f"{request.url.host} is not started here", request=request)
        if threading.get_ident() == self._loop_thread:
            # Blocking the loop's own thread on the loop would wait forever.
            raise RuntimeError("in-process service calls must come from a worker thread")
        request.read()
        future = asyncio.run_coroutine_threadsafe(_send(service, request), self._loop)
        try:
            return future.result(self._timeout)
        except TimeoutError as exc:
            future.cancel()
            raise httpx.ReadTimeout(f"{request.url.host}: no answer", request=request) from exc


async def _send(service: httpx.ASGITransport, request: httpx.Request) -> httpx.Response:
    inner = httpx.Request(
        request.method, request.url, headers=request.headers, content=request.content
    )
    response = await service.handle_async_request(inner)
    content = await response.aread()
    return httpx.Response(response.status_code, headers=response.headers, content=content)
