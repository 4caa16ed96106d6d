"""An upstream service living in this process (embedded mode): its ASGI app called directly.

No sockets, no serialisation: the gateway hands the (rewritten) scope and the client's
receive/send to the app, so streaming and WebSockets work as they do over the network.
Starlette does not run lifespans of apps it forwards to, so `AppLifespan` runs each app's
lifespan explicitly (once per app, even when several upstreams share one app).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from taskflow_auth_gateway.application.ports import (
    Message,
    Receive,
    Scope,
    Send,
    UpstreamProtocolError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)

log = logging.getLogger(__name__)

AsgiApp = Any  # (scope, receive, send) -> Awaitable[None]


class LifespanError(RuntimeError):
    pass


class AppLifespan:
    """Runs one ASGI app's lifespan protocol; start/stop are reference-counted."""

    def __init__(self, app: AsgiApp, name: str, timeout: float = 60.0) -> None:
        self.app = app
        self.name = name
        self.state: dict[str, Any] = {}
        self._timeout = timeout
        self._users = 0
        self._task: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._supported = True

    async def start(self) -> None:
        self._users += 1
        if self._users > 1:
            return
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        self._task = asyncio.create_task(self._run(scope), name=f"lifespan-{self.name}")
        await self._to_app.put({"type": "lifespan.startup"})
        message = await self._next_message()
        if message is None:
            self._supported = False  # the app does not speak lifespan: nothing to run
            return
        if message["type"] == "lifespan.startup.failed":
            raise LifespanError(f"{self.name} failed to start: {message.get('message', '')}")

    async def stop(self) -> None:
        self._users -= 1
        if self._users > 0 or self._task is None:
            return
        if self._supported and not self._task.done():
            await self._to_app.put({"type": "lifespan.shutdown"})
            message = await self._next_message()
            if message is not None and message["type"] == "lifespan.shutdown.failed":
                log.error("%s failed to shut down: %s", self.name, message.get("message"))
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self._task = None

    async def _run(self, scope: Scope) -> None:
        try:
            await self.app(scope, self._to_app.get, self._from_app.put)
        except Exception:
            log.debug("%s lifespan ended with an exception", self.name, exc_info=True)

    async def _next_message(self) -> Message | None:
        """The app's next lifespan message, or None if the app returned without one."""
        assert self._task is not None
        getter = asyncio.create_task(self._from_app.get())
        done, _ = await asyncio.wait(
            {getter, self._task}, timeout=self._timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if getter in done:
            return getter.result()
        getter.cancel()
        if not done:
            raise LifespanError(f"{self.name}: lifespan did not answer in {self._timeout:g}s")
        return None


class AsgiUpstream:
    def __init__(
        self,
        name: str,
        app: AsgiApp,
        *,
        lifespan: AppLifespan | None = None,
        response_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.app = app
        self._lifespan = lifespan or AppLifespan(app, name)
        self._timeout = response_timeout
        self._running = False

    async def start(self) -> None:
        await self._lifespan.start()
        self._running = True

    async def close(self) -> None:
        if self._running:
            self._running = False
            await self._lifespan.stop()

    def _scope(self, scope: Scope) -> Scope:
        inner = dict(scope)
        # Each request sees a shallow copy of the app's own lifespan state (as uvicorn does).
        inner["state"] = dict(self._lifespan.state)
        for key in ("app", "router", "endpoint", "route", "path_params", "fastapi_astack"):
            inner.pop(key, None)
        return inner

    async def forward_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._running:
            raise UpstreamUnavailableError(f"{self.name} is not running")
        started = asyncio.Event()
        send_error: BaseException | None = None

        async def tracking_send(message: Message) -> None:
            nonlocal send_error
            try:
                await send(message)
            except BaseException as exc:
                # The gateway's own side refused the message (e.g. a 429 after all): that is
                # not the app failing, and must reach the proxy unchanged.
                send_error = exc
                raise
            if message["type"] == "http.response.start":
                started.set()

        call = asyncio.create_task(self.app(self._scope(scope), receive, tracking_send))
        waiter = asyncio.create_task(started.wait())
        try:
            done, _ = await asyncio.wait(
                {call, waiter}, timeout=self._timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                call.cancel()
                raise UpstreamTimeoutError(f"{self.name}: no answer in {self._timeout:g}s")
            await call  # the rest of the (possibly streamed) response
        except (UpstreamTimeoutError, asyncio.CancelledError):
            raise
        except Exception as exc:
            if send_error is not None:
                raise send_error from None
            if not started.is_set():
                raise UpstreamProtocolError(f"{self.name} failed: {exc!r}") from exc
            log.warning("%s failed mid-response", self.name, exc_info=True)
        finally:
            waiter.cancel()
            if not call.done():
                call.cancel()
                with contextlib.suppress(BaseException):
                    await call
        if send_error is not None:
            raise send_error
        if not started.is_set():
            raise UpstreamProtocolError(f"{self.name} returned without a response")

    async def forward_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._running:
            raise UpstreamUnavailableError(f"{self.name} is not running")
        await self.app(self._scope(scope), receive, send)

    async def get(self, path: str) -> tuple[int, bytes]:
        if not self._running:
            raise UpstreamUnavailableError(f"{self.name} is not running")
        status = 0
        chunks: list[bytes] = []
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # no disconnect until the response is complete
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"embedded")],
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 0),
        }
        try:
            await asyncio.wait_for(self.app(self._scope(scope), receive, send), timeout=5.0)
        except TimeoutError as exc:
            raise UpstreamTimeoutError(f"{self.name}: no answer in time") from exc
        except Exception as exc:
            raise UpstreamProtocolError(f"{self.name} failed: {exc!r}") from exc
        return status, b"".join(chunks)
