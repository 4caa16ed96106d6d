"""/ws/notifications: a user's stored notifications (replayable) and live task changes.

Authentication happens before the upgrade is accepted: the JWT comes as the subprotocol pair
`bearer, <jwt>` (the `bearer` subprotocol is selected) or the `access_token` query parameter,
and is verified like any bearer token. A refused token never gets a WebSocket. When the token
expires the connection is closed with 4401 so the client re-authenticates.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from taskflow_common.auth import InvalidTokenError
from taskflow_common.problems import ProblemError
from taskflow_notify import selectors
from taskflow_notify.container import container
from taskflow_notify.cursors import decode_cursor
from taskflow_notify.frames import notification_frame, user_group
from taskflow_notify.metrics import DELIVERIES, EVENT_TO_DELIVERY, WS_CONNECTIONS

log = logging.getLogger(__name__)

# Labelled children looked up once: they are touched for every frame sent.
_WS_SENT = DELIVERIES.labels("websocket", "sent")
_WS_LATENCY = EVENT_TO_DELIVERY.labels("websocket")

CLOSE_TOKEN_EXPIRED = 4401
CLOSE_BAD_REQUEST = 4400
REPLAY_BATCH = 500


def token_from_scope(scope: dict[str, Any]) -> tuple[str | None, bool]:
    """(token, came as a subprotocol)."""
    protocols = [p.strip() for p in scope.get("subprotocols") or []]
    if len(protocols) >= 2 and protocols[0].lower() == "bearer":
        return protocols[1], True
    query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
    values = query.get("access_token")
    return (values[0] if values else None), False


class NotificationsConsumer(AsyncWebsocketConsumer):
    user_id: str | None = None
    group: str | None = None
    last_seq = 0
    counted = False

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale DB connections (a thread hop) before every handler; only the
        # handshake touches the database, so frames and pings skip that hop.
        if message["type"] == "notify.frame":
            await self.notify_frame(message)
        elif message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def connect(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []
        token, as_subprotocol = token_from_scope(self.scope)
        if not token:
            await self.close()  # before accept: the upgrade is refused (HTTP 403)
            return
        verifier = container().verifier
        try:
            principal = await verifier.averify(token)
            expires_at = float(verifier.claims(token)["exp"])
        except (InvalidTokenError, KeyError):
            await self.close()
            return
        query = parse_qs(self.scope.get("query_string", b"").decode(errors="replace"))
        since = (query.get("since") or [None])[0]
        try:
            after_seq = decode_cursor(since) if since else None
        except ProblemError:
            await self.close()
            return
        self.user_id = principal.sub
        self.group = user_group(principal.sub)
        # Join before replaying: live frames that arrive meanwhile wait in the channel's
        # queue and are de-duplicated against the replay by seq.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept("bearer" if as_subprotocol else None)
        WS_CONNECTIONS.inc()
        self.counted = True
        heartbeat = container().settings.ws_heartbeat_seconds
        self._tasks.append(asyncio.create_task(self._expire_at(expires_at)))
        self._tasks.append(asyncio.create_task(self._heartbeat(heartbeat)))
        if after_seq is not None:
            await self._replay(after_seq)

    async def _replay(self, after_seq: int) -> None:
        assert self.user_id is not None
        self.last_seq = after_seq
        while True:
            rows = await sync_to_async(selectors.notifications_since)(
                user_id=self.user_id, after_seq=self.last_seq, limit=REPLAY_BATCH
            )
            for row in rows:
                await self.send(text_data=json.dumps(notification_frame(row)))
                self.last_seq = row.seq
            if len(rows) < REPLAY_BATCH:
                break
        await self.send(text_data=json.dumps({"type": "replay.done"}))

    async def _expire_at(self, expires_at: float) -> None:
        await asyncio.sleep(max(expires_at - time.time(), 0.0))
        await self.close(code=CLOSE_TOKEN_EXPIRED, reason="token expired")

    async def _heartbeat(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.send(text_data=json.dumps({"type": "ping", "ts": time.time()}))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == "ping":
            await self.send(text_data=json.dumps({"type": "pong", "ts": time.time()}))

    async def notify_frame(self, event: dict[str, Any]) -> None:
        """A group message: one frame for this user."""
        seq = event.get("seq")
        if seq is not None:
            if seq <= self.last_seq:
                return  # already sent by the replay
            self.last_seq = seq
        await self.send(text_data=event["frame_json"])
        _WS_SENT.inc()
        occurred_at = event.get("occurred_at")
        if occurred_at is not None:
            _WS_LATENCY.observe(max(time.time() - occurred_at, 0.0))

    async def disconnect(self, code: int) -> None:
        for task in getattr(self, "_tasks", []):
            task.cancel()
        if self.counted:
            WS_CONNECTIONS.dec()
            self.counted = False
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
