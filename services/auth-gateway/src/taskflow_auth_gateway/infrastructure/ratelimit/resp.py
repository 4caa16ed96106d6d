"""A minimal pipelined Redis client (RESP2) for the one script the rate limiter runs.

redis-py's asyncio client costs ~200 µs of CPU per call here (pool checkout, command packing,
response objects) — more than the whole proxy hop. The limiter needs two commands (EVALSHA,
SCRIPT LOAD) plus PING; this client writes each command straight to one connection and matches
replies to callers in order (Redis answers a connection's commands in order), so concurrent
requests share the connection without waiting for each other.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any
from urllib.parse import urlparse

Reply = Any


class RedisReplyError(Exception):
    """Redis answered with an error reply (e.g. NOSCRIPT)."""


class RedisUnavailableError(Exception):
    pass


def encode(*parts: bytes | str | int) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        raw = part if isinstance(part, bytes) else str(part).encode()
        out.append(b"$%d\r\n%b\r\n" % (len(raw), raw))
    return b"".join(out)


class _ReplyParser:
    """Incremental RESP2 parser: feed bytes, collect complete replies."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Reply]:
        self._buffer += data
        replies: list[Reply] = []
        while True:
            parsed = self._parse(0)
            if parsed is None:
                break
            reply, end = parsed
            del self._buffer[:end]
            replies.append(reply)
        return replies

    def _parse(self, start: int) -> tuple[Reply, int] | None:
        buffer = self._buffer
        line_end = buffer.find(b"\r\n", start)
        if line_end < 0:
            return None
        kind = buffer[start : start + 1]
        payload = bytes(buffer[start + 1 : line_end])
        after = line_end + 2
        if kind == b"+":
            return payload.decode(), after
        if kind == b"-":
            return RedisReplyError(payload.decode()), after
        if kind == b":":
            return int(payload), after
        if kind == b"$":
            length = int(payload)
            if length < 0:
                return None, after
            if len(buffer) < after + length + 2:
                return None
            return bytes(buffer[after : after + length]), after + length + 2
        if kind == b"*":
            count = int(payload)
            items: list[Reply] = []
            position = after
            for _ in range(max(count, 0)):
                parsed = self._parse(position)
                if parsed is None:
                    return None
                item, position = parsed
                items.append(item)
            return (items if count >= 0 else None), position
        raise RedisReplyError(f"unexpected reply type {kind!r}")


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiters: collections.deque[asyncio.Future[Reply]] = collections.deque()
        self.parser = _ReplyParser()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        for reply in self.parser.feed(data):
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RedisUnavailableError("connection to Redis lost"))


class PipelinedRedis:
    """One shared connection; a failed connect is remembered for `backoff` seconds.

    While Redis is remembered as down, commands fail at once instead of each caller waiting
    its own connect timeout behind the others (with Redis black-holed that wait grew by one
    timeout per queued caller): the rate limiter above fails open immediately.
    """

    def __init__(self, url: str, *, timeout: float = 2.0, backoff: float = 5.0) -> None:
        parsed = urlparse(url)
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or 6379
        self._db = int((parsed.path or "/0").lstrip("/") or 0)
        self._password = parsed.password
        self._timeout = timeout
        self._backoff = backoff
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None
        self._down_until = 0.0
        self._down_reason = ""
        self.connect_attempts = 0

    def _raise_if_backing_off(self) -> None:
        if asyncio.get_running_loop().time() < self._down_until:
            raise RedisUnavailableError(f"Redis unavailable (retrying later): {self._down_reason}")

    def _remember_failure(self, reason: str) -> None:
        self._down_until = asyncio.get_running_loop().time() + self._backoff
        self._down_reason = reason

    async def _connection(self) -> _Protocol:
        current = self._protocol
        if current is not None and not current.closed:
            return current
        self._raise_if_backing_off()
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is not None and not self._protocol.closed:
                return self._protocol
            # Callers queued behind a connect that just failed must not try again each.
            self._raise_if_backing_off()
            self.connect_attempts += 1
            try:
                protocol = await self._open()
            except RedisUnavailableError as exc:
                self._remember_failure(str(exc))
                raise
            self._protocol = protocol
            return protocol

    async def _open(self) -> _Protocol:
        """A connection that is authenticated and on the right database, or none at all."""
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(_Protocol, self._host, self._port), self._timeout
            )
        except (OSError, TimeoutError) as exc:
            raise RedisUnavailableError(f"cannot connect to Redis: {exc!r}") from exc
        try:
            if self._password:
                await self._send(protocol, encode("AUTH", self._password))
            if self._db:
                await self._send(protocol, encode("SELECT", self._db))
        except (RedisReplyError, RedisUnavailableError) as exc:
            # Never keep a connection whose AUTH/SELECT failed: every later command on it
            # would run unauthenticated or against the wrong database.
            if protocol.transport is not None:
                protocol.transport.close()
            raise RedisUnavailableError(f"Redis refused the connection setup: {exc}") from exc
        return protocol

    async def command(self, *parts: bytes | str | int) -> Reply:
        protocol = await self._connection()
        return await self._send(protocol, encode(*parts))

    async def _send(self, protocol: _Protocol, frame: bytes) -> Reply:
        if protocol.transport is None or protocol.closed:
            raise RedisUnavailableError("connection to Redis lost")
        waiter: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        protocol.waiters.append(waiter)
        protocol.transport.write(frame)
        timer = asyncio.get_running_loop().call_later(self._timeout, _expire, waiter, protocol)
        try:
            reply = await waiter
        except RedisUnavailableError as exc:
            # A connection that went silent or dropped: do not reconnect for every caller.
            self._remember_failure(str(exc))
            raise
        finally:
            timer.cancel()
        if isinstance(reply, RedisReplyError):
            raise reply
        return reply

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None


def _expire(waiter: asyncio.Future[Reply], protocol: _Protocol) -> None:
    # A reply that never came leaves the connection's reply order unknown: drop it.
    if not waiter.done():
        waiter.set_exception(RedisUnavailableError("Redis did not answer in time"))
        if protocol.transport is not None:
            protocol.transport.close()
