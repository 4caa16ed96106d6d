"""The live stream (`/ws/notifications`): notifications and task changes, nothing missed.

Every frame carries a sync token. The stream keeps the newest one and, when the connection
drops, reconnects with `?since=<token>`: the server replays what was missed, in order, then
goes live again. Before the first connection the stream asks the change feed for the current
token, so even a drop before the first frame loses nothing. A token older than the feed keeps
is answered with `resync`: the stream yields a `Resync` (refetch what you show) and goes on.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets import Subprotocol
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from taskflow_sdk.errors import AuthenticationError, TransportError

CLOSE_TOKEN_EXPIRED = 4401
CLOSE_BAD_REQUEST = 4400


@dataclass(frozen=True)
class TaskChanged:
    """A task was created, updated, deleted, restored, or left the caller's view."""

    change: str
    task: dict[str, Any]
    changed_fields: list[str] | None
    occurred_at: str | None
    pos: int
    sync_token: str


@dataclass(frozen=True)
class NotificationReceived:
    notification: dict[str, Any]
    pos: int
    sync_token: str


@dataclass(frozen=True)
class AccessChanged:
    """The caller gained or lost access to a project's tasks: refetch that project."""

    data: dict[str, Any]
    pos: int
    sync_token: str


@dataclass(frozen=True)
class Resync:
    """The stream could not replay everything missed: refetch, then carry on."""

    reason: str
    sync_token: str


LiveFrame = TaskChanged | NotificationReceived | AccessChanged | Resync


def parse_frame(raw: dict[str, Any]) -> LiveFrame | None:
    """The typed frame, or None for the stream's own frames (ping, pong, replay.done)."""
    kind = raw.get("type")
    token = str(raw.get("sync_token", ""))
    pos = int(raw.get("pos", 0))
    if kind == "task.changed":
        return TaskChanged(
            change=str(raw.get("change")),
            task=dict(raw.get("task") or {}),
            changed_fields=raw.get("changed_fields"),
            occurred_at=raw.get("occurred_at"),
            pos=pos,
            sync_token=token,
        )
    if kind == "notification":
        body = {k: v for k, v in raw.items() if k not in {"type", "pos", "sync_token"}}
        return NotificationReceived(notification=body, pos=pos, sync_token=token)
    if kind == "access.changed":
        body = {k: v for k, v in raw.items() if k not in {"type", "pos", "sync_token"}}
        return AccessChanged(data=body, pos=pos, sync_token=token)
    if kind == "resync":
        return Resync(reason=str(raw.get("reason", "")), sync_token=token)
    return None


@dataclass
class Backoff:
    first: float = 0.5
    ceiling: float = 15.0
    failures: int = field(default=0)

    def next(self) -> float:
        self.failures += 1
        return random.uniform(0, min(self.first * 2 ** (self.failures - 1), self.ceiling))  # noqa: S311

    def reset(self) -> None:
        self.failures = 0


def ws_url(base_url: str) -> str:
    if base_url.startswith("https://"):
        return "wss://" + base_url.removeprefix("https://") + "/ws/notifications"
    return "ws://" + base_url.removeprefix("http://") + "/ws/notifications"


class LiveStream:
    """An async iterator of `LiveFrame`s that reconnects by itself.

    `since` resumes from a token a previous stream handed out (`sync_token`); `on_state` hears
    "connected" and "reconnecting" (for a status line); `max_failures` consecutive failed
    connections end the stream with TransportError (None: keep trying).
    """

    def __init__(
        self,
        base_url: str,
        bearer: Callable[[], Awaitable[str]],
        start_token: Callable[[], Awaitable[str]],
        refresh: Callable[[], Awaitable[bool]],
        *,
        since: str | None = None,
        on_state: Callable[[str], None] | None = None,
        max_failures: int | None = None,
    ) -> None:
        self.url = ws_url(base_url.rstrip("/"))
        self._bearer = bearer
        self._start_token = start_token
        self._refresh = refresh
        self.sync_token = since
        self.last_pos = 0
        self._on_state = on_state or (lambda state: None)
        self._max_failures = max_failures
        self._connection: Any = None

    async def drop(self) -> None:
        """Close the current connection as a network failure would (the stream reconnects)."""
        if self._connection is not None:
            await self._connection.close()

    def __aiter__(self) -> AsyncIterator[LiveFrame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[LiveFrame]:
        if self.sync_token is None:
            self.sync_token = await self._start_token()
        backoff = Backoff()
        while True:
            url = f"{self.url}?since={self.sync_token}"
            token = await self._bearer()
            try:
                async with websockets.connect(
                    url, subprotocols=[Subprotocol("bearer"), Subprotocol(token)], open_timeout=15
                ) as connection:
                    self._connection = connection
                    self._on_state("connected")
                    async for message in connection:
                        backoff.reset()
                        frame = self._accept(message)
                        if frame is not None:
                            yield frame
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else None
                if code == CLOSE_TOKEN_EXPIRED:
                    await self._refresh()
                    continue  # a fresh token, at once: not a failure
                if code == CLOSE_BAD_REQUEST:
                    raise TransportError(f"the live stream refused the request: {closed}") from None
            except InvalidStatus as refused:
                if refused.response.status_code in {401, 403}:
                    # A refused token: refresh once; if that cannot help, the session is over.
                    if not await self._refresh():
                        raise AuthenticationError(
                            401, "the live stream refused the token"
                        ) from None
                    continue
                self._failed(backoff)
            except (OSError, InvalidHandshake, TimeoutError):
                self._failed(backoff)
            finally:
                self._connection = None
            self._on_state("reconnecting")
            await asyncio.sleep(backoff.next())

    def _failed(self, backoff: Backoff) -> None:
        if self._max_failures is not None and backoff.failures + 1 >= self._max_failures:
            raise TransportError(f"cannot reach {self.url} ({backoff.failures + 1} attempts)")

    def _accept(self, message: str | bytes) -> LiveFrame | None:
        try:
            raw = json.loads(message)
        except ValueError:
            return None
        if not isinstance(raw, dict):
            return None
        pos = raw.get("pos")
        if isinstance(pos, int):
            if pos <= self.last_pos:
                return None  # already yielded (a replay overlapping what we had)
            self.last_pos = pos
        if raw.get("sync_token"):
            self.sync_token = str(raw["sync_token"])
        return parse_frame(raw)
