"""An upstream service reached over HTTP (distributed mode): one pooled aiohttp session each.

Bodies stream both ways; small bodies with a known length go in one piece (fewer syscalls).
Failures before the response starts become 503 (nothing listening), 504 (no answer in time)
or 502 (not an HTTP answer); afterwards the stream can only be cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from yarl import URL

from taskflow_auth_gateway.application.ports import (
    ClientDisconnectedError,
    Message,
    Receive,
    Scope,
    Send,
    UpstreamProtocolError,
    UpstreamRefusedWebSocketError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from taskflow_auth_gateway.domain.headers import response_headers
from taskflow_auth_gateway.infrastructure.upstream.h1 import (
    ConnectFailedError,
    ConnectionDroppedError,
    H1Pool,
    ResponseTimeoutError,
)

log = logging.getLogger(__name__)

_SMALL_BODY = 64 * 1024
# Framing is the client connection's business; the upstream request is framed anew. `expect`
# too: the body is sent right away, never after a 100 Continue.
_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"expect"})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Set by the websocket client itself; forwarding the client's copies would break the handshake.
_WS_OWN_HEADERS = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
        "content-length",
    }
)


class HttpUpstream:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 30.0,
        pool_size: int = 256,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._ws_base = "ws" + self.base_url[4:] if self.base_url.startswith("http") else ""
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None
        # WebSockets are long-lived: they get their own session with no connection cap, so
        # open sockets never starve the HTTP pool (nor the pool's cap bound the sockets).
        self._ws_session: aiohttp.ClientSession | None = None
        self._pool: H1Pool | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self._pool_size,
            limit_per_host=self._pool_size,
            keepalive_timeout=30,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self._connect_timeout, sock_read=self._read_timeout
            ),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            raise_for_status=False,
        )
        self._ws_session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent",),
        )
        parsed = URL(self.base_url)
        self._pool = H1Pool(
            parsed.host or "127.0.0.1",
            parsed.port or 80,
            host_header=parsed.raw_authority.encode(),
            max_idle=self._pool_size,
            connect_timeout=self._connect_timeout,
        )

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._ws_session is not None:
            await self._ws_session.close()
            self._ws_session = None

    # --- HTTP ---------------------------------------------------------------------------------

    async def forward_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        pool = self._require_pool()
        method: str = scope["method"]
        length: int | None = None
        headers = []
        for name, value in scope["headers"]:
            if name in _FRAMING:
                if name == b"content-length":
                    length = int(value)
                continue
            headers.append((name, value))
        chunked = bool(scope.get("taskflow.chunked"))
        body: bytes | AsyncIterator[bytes] | None = None
        if length is not None and length <= _SMALL_BODY:
            body = await _read_all(receive)
        elif length is not None or chunked:
            body = _body_stream(receive)
        try:
            exchange = await pool.request(
                method,
                _target(scope),
                headers,
                body,
                body_length=length,
                head_timeout=self._read_timeout,
                retry_idempotent=method in _IDEMPOTENT,
            )
        except ConnectFailedError as exc:
            raise UpstreamUnavailableError(f"{self.name}: {exc}") from exc
        except ResponseTimeoutError as exc:
            raise UpstreamTimeoutError(f"{self.name}: no answer in time") from exc
        except ConnectionDroppedError as exc:
            raise UpstreamProtocolError(f"{self.name}: {exc}") from exc
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": exchange.status,
                    "headers": response_headers(exchange.headers),
                }
            )
            ready = exchange.ready_body()
            if ready is not None:
                await send({"type": "http.response.body", "body": ready})
            else:
                async for chunk in exchange.body():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
        except ConnectionDroppedError as exc:
            # Mid-body: the status is already out; the client sees the stream cut short.
            raise UpstreamProtocolError(f"{self.name}: {exc}") from exc
        finally:
            exchange.release()

    # --- WebSocket ----------------------------------------------------------------------------

    async def forward_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = self._ws_session
        if session is None:
            raise UpstreamUnavailableError(f"{self.name}: the upstream client is not started")
        connect = await receive()
        if connect["type"] != "websocket.connect":
            return
        headers = [
            (n.decode("latin-1"), v.decode("latin-1"))
            for n, v in scope["headers"]
            if n.decode("latin-1") not in _WS_OWN_HEADERS
        ]
        try:
            upstream = await session.ws_connect(
                self._url(self._ws_base, scope),
                protocols=tuple(scope.get("subprotocols") or ()),
                headers=headers,
                autoping=True,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise UpstreamRefusedWebSocketError(exc.status) from exc
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamUnavailableError(f"{self.name}: {exc.os_error}") from exc
        except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
            raise UpstreamTimeoutError(f"{self.name}: websocket handshake timed out") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamProtocolError(f"{self.name}: {exc!r}") from exc

        async with upstream:
            await send({"type": "websocket.accept", "subprotocol": upstream.protocol})
            await _pump_websocket(upstream, receive, send)

    # --- internal GETs ------------------------------------------------------------------------

    async def get(self, path: str) -> tuple[int, bytes]:
        session = self._require_session()
        try:
            async with session.get(
                self.base_url + path, timeout=aiohttp.ClientTimeout(total=5.0)
            ) as response:
                return response.status, await response.read()
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamUnavailableError(f"{self.name}: {exc.os_error}") from exc
        except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
            raise UpstreamTimeoutError(f"{self.name}: no answer in time") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamProtocolError(f"{self.name}: {exc!r}") from exc

    def _require_pool(self) -> H1Pool:
        if self._pool is None:
            raise UpstreamUnavailableError(f"{self.name}: upstream client not started")
        return self._pool

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise UpstreamUnavailableError(f"{self.name}: upstream client not started")
        return self._session

    @staticmethod
    def _url(base: str, scope: Scope) -> URL:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        target = base + raw_path.decode("latin-1")
        if query:
            target += "?" + query.decode("latin-1")
        return URL(target, encoded=True)


def _target(scope: Scope) -> bytes:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return raw_path + b"?" + query if query else raw_path


async def _read_all(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnectedError
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _body_stream(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            # Raising (not returning) makes aiohttp abort the upstream request instead of
            # finishing it with a truncated body that would look complete.
            raise ClientDisconnectedError
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _pump_websocket(
    upstream: aiohttp.ClientWebSocketResponse, receive: Receive, send: Send
) -> None:
    """Copy frames both ways until either side closes; then close the other side."""

    async def client_to_upstream() -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "websocket.disconnect":
                await upstream.close(code=message.get("code", 1000))
                return
            if message["type"] == "websocket.receive":
                if message.get("text") is not None:
                    await upstream.send_str(message["text"])
                elif message.get("bytes") is not None:
                    await upstream.send_bytes(message["bytes"])

    async def upstream_to_client() -> None:
        async for frame in upstream:
            if frame.type == aiohttp.WSMsgType.TEXT:
                await send({"type": "websocket.send", "text": frame.data})
            elif frame.type == aiohttp.WSMsgType.BINARY:
                await send({"type": "websocket.send", "bytes": frame.data})
            elif frame.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                break
        code = upstream.close_code or 1000
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": code if code != 1006 else 1011})

    tasks = [asyncio.create_task(client_to_upstream()), asyncio.create_task(upstream_to_client())]
    try:
        _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    log.debug("websocket relay finished", extra={"pending": len(pending)})
