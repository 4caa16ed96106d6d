"""A small pooled HTTP/1.1 client for the proxy's hot path (asyncio protocol + httptools).

Why not aiohttp here: per proxied request aiohttp builds request/response objects, multidicts
and timers that cost several times more CPU than the forwarding itself (measured, see
docs/benchmarks.md). This client does only what a reverse proxy needs: write the request
line and headers as bytes, parse the response with llhttp (httptools), stream the body with
back-pressure both ways, and keep connections alive in a LIFO pool. WebSockets and the
gateway's internal GETs still use aiohttp.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator

import httptools

Headers = list[tuple[bytes, bytes]]

_HIGH_WATER = 256 * 1024  # stop reading from the upstream when this much body is unsent
# uvicorn closes a keep-alive connection after 5 s without a request (its default). If the
# pool reused one at that moment, the request would cross the upstream's close in flight:
# for a non-idempotent request that is a 502, since it cannot be sent again. Retiring idle
# connections a second before any upstream would closes that window.
DEFAULT_IDLE_TIMEOUT = 4.0


class ConnectFailedError(Exception):
    """No TCP connection could be made (refused, unreachable, timed out)."""


class ConnectionDroppedError(Exception):
    """The connection closed before a complete response head arrived."""

    def __init__(self, message: str, *, bytes_received: bool) -> None:
        super().__init__(message)
        self.bytes_received = bytes_received


class ResponseTimeoutError(Exception):
    """The response head did not arrive in time."""


class _Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0  # loop time when last returned to the pool
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._reset()

    def _reset(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self.head: asyncio.Future[tuple[int, Headers]] = self._loop.create_future()
        self._headers: Headers = []
        self._body: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._body_event = asyncio.Event()
        self.complete = False
        self.keep_alive = False
        self._received_any = False
        self._head_only = False

    # --- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._received_any = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ConnectionDroppedError("unexpected upgrade", bytes_received=True))
        except httptools.HttpParserError as exc:
            self._fail(ConnectionDroppedError(f"bad response: {exc}", bytes_received=True))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._can_write.set()
        if self.head.done() and not self.complete and self._ends_at_close():
            # HTTP/1.0-style body delimited by the end of the connection: it is complete.
            self.complete = True
            self._body_event.set()
        if not self.complete:
            self._fail(
                ConnectionDroppedError(
                    "upstream closed the connection", bytes_received=self._received_any
                )
            )

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    def _ends_at_close(self) -> bool:
        return not any(
            name in (b"content-length", b"transfer-encoding") for name, _ in self._headers
        )

    # --- httptools callbacks -------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:  # 1xx interim responses: forget them, wait for the real one
            self._headers = []
            return
        if not self.head.done():
            self.head.set_result((status, self._headers))
        if self._head_only:
            # A response to HEAD has no body, but llhttp cannot know that: finish here and
            # do not reuse the connection (its parser state is no longer trustworthy).
            self.complete = True
            self._body_event.set()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._buffered += len(body)
        self._body_event.set()
        if self._buffered > _HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self._parser.should_keep_alive() and not self._head_only
        self._body_event.set()

    # --- used by the pool ----------------------------------------------------------------------

    def _fail(self, exc: Exception) -> None:
        if not self.head.done():
            self.head.set_exception(exc)
        self.closed = True
        self._body_event.set()
        if self.transport is not None:
            self.transport.close()

    def begin(self, head_only: bool) -> None:
        self._reset()
        self._head_only = head_only

    async def write(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise ConnectionDroppedError("connection closed", bytes_received=self._received_any)
        self.transport.write(data)
        if not self._can_write.is_set():
            await self._can_write.wait()

    async def body(self) -> AsyncIterator[bytes]:
        while True:
            if self._body:
                chunk = self._body.popleft()
                self._buffered -= len(chunk)
                if self._buffered <= _HIGH_WATER // 2 and self.transport is not None:
                    self.transport.resume_reading()
                yield chunk
                continue
            if self.complete:
                return
            if self.closed:
                raise ConnectionDroppedError("upstream closed mid-body", bytes_received=True)
            self._body_event.clear()
            await self._body_event.wait()

    def drain_all(self) -> bytes | None:
        """The whole body if it has already arrived (the common small-response case)."""
        if not self.complete:
            return None
        data = b"".join(self._body)
        self._body.clear()
        self._buffered = 0
        return data

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Exchange:
    """One request/response on a pooled connection; `release()` must be called after."""

    def __init__(self, pool: H1Pool, connection: _Connection) -> None:
        self._pool = pool
        self.connection = connection
        self.status = 0
        self.headers: Headers = []

    def body(self) -> AsyncIterator[bytes]:
        return self.connection.body()

    def ready_body(self) -> bytes | None:
        return self.connection.drain_all()

    def release(self) -> None:
        self._pool.release(self.connection)


class H1Pool:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        host_header: bytes,
        max_idle: int = 256,
        connect_timeout: float = 2.0,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        self.host = host
        self.port = port
        self._host_header = host_header
        self._idle: list[_Connection] = []
        self._max_idle = max_idle
        self._connect_timeout = connect_timeout
        self._idle_timeout = idle_timeout

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(loop), self.host, self.port),
                self._connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise ConnectFailedError(f"{self.host}:{self.port}: {exc!r}") from exc
        return protocol

    async def _acquire(self) -> tuple[_Connection, bool]:
        now = asyncio.get_running_loop().time()
        # LIFO: the most recently used come first, so past the first stale one all are stale.
        while self._idle:
            connection = self._idle.pop()
            if connection.closed:
                continue
            if now - connection.idle_since >= self._idle_timeout:
                connection.close()
                self._retire_idle()
                break
            return connection, True
        return await self._connect(), False

    def _retire_idle(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    def release(self, connection: _Connection) -> None:
        if (
            connection.closed
            or not connection.complete
            or not connection.keep_alive
            or (len(self._idle) >= self._max_idle)
        ):
            connection.close()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        self._idle.append(connection)

    def close(self) -> None:
        self._retire_idle()

    async def request(
        self,
        method: str,
        target: bytes,
        headers: Headers,
        body: bytes | AsyncIterator[bytes] | None,
        *,
        body_length: int | None,
        head_timeout: float,
        retry_idempotent: bool,
    ) -> Exchange:
        """Send the request; returns once the response head has arrived.

        `headers` carry no framing (Content-Length, Transfer-Encoding): a bytes body gets its
        length, a streamed body keeps the client's `body_length` or else is sent chunked.
        """
        attempts = 2 if retry_idempotent and not hasattr(body, "__aiter__") else 1
        for attempt in range(1, attempts + 1):
            connection, reused = await self._acquire()
            try:
                return await self._exchange(
                    connection, method, target, headers, body, body_length, head_timeout
                )
            except ConnectionDroppedError as exc:
                connection.close()
                # A reused keep-alive connection the upstream had just closed: send once more.
                if attempt < attempts and reused and not exc.bytes_received:
                    continue
                raise
            except BaseException:
                connection.close()
                raise
        raise AssertionError("unreachable")

    async def _exchange(
        self,
        connection: _Connection,
        method: str,
        target: bytes,
        headers: Headers,
        body: bytes | AsyncIterator[bytes] | None,
        body_length: int | None,
        head_timeout: float,
    ) -> Exchange:
        connection.begin(head_only=method == "HEAD")
        lines = [method.encode(), b" ", target, b" HTTP/1.1\r\n"]
        if not any(name == b"host" for name, _ in headers):
            lines += (b"host: ", self._host_header, b"\r\n")
        for name, value in headers:
            lines += (name, b": ", value, b"\r\n")
        if body is None:
            lines.append(b"\r\n")
            await connection.write(b"".join(lines))
        elif isinstance(body, bytes):
            lines += (b"content-length: ", str(len(body)).encode(), b"\r\n\r\n", body)
            await connection.write(b"".join(lines))
        else:
            chunked = body_length is None
            if chunked:
                lines.append(b"transfer-encoding: chunked\r\n\r\n")
            else:
                lines += (b"content-length: ", str(body_length).encode(), b"\r\n\r\n")
            await connection.write(b"".join(lines))
            async for chunk in body:
                if chunk:
                    await connection.write(
                        b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk
                    )
            if chunked:
                await connection.write(b"0\r\n\r\n")

        loop = asyncio.get_running_loop()
        timer = loop.call_later(head_timeout, _expire, connection.head)
        try:
            status, response_headers = await connection.head
        finally:
            timer.cancel()
        exchange = Exchange(self, connection)
        exchange.status = status
        exchange.headers = response_headers
        return exchange


def _expire(head: asyncio.Future[tuple[int, Headers]]) -> None:
    if not head.done():
        head.set_exception(ResponseTimeoutError("no response head in time"))
