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

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from taskflow_common.auth import InvalidTokenError
from taskflow_common.problems import ProblemError
from taskflow_notify import feed, selectors
from taskflow_notify.container import container
from taskflow_notify.cursors import decode_since, encode_sync_token
from taskflow_notify.frames import notification_frame, user_group
from taskflow_notify.metrics import DELIVERIES, EVENT_TO_DELIVERY, FEED_GAPS_FILLED, WS_CONNECTIONS
from taskflow_notify.models import FeedEntry
from taskflow_notify.tracing import frame_push_span

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


class NotificationsConnection(AsyncWebsocketConsumer):
    """One client: its change feed replayed from a sync token, then live, with no silent gap.

    `last_pos` is the newest feed position this connection has sent. Live frames at or below
    it are duplicates (a retried publish, or already replayed) and are dropped; a live frame
    beyond `last_pos + 1` means the stream lost frames (the channel layer was down), so the
    missing ones are read from the feed and sent first. The heartbeat also compares with the
    feed's head, so a gap at the end of a burst is filled within one heartbeat.
    """

    user_id: str | None = None
    group: str | None = None
    last_pos = 0
    counted = False

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale DB connections (a thread hop) before every handler; live
        # frames and pings skip that hop (gap fills use database_sync_to_async themselves).
        if message["type"] == "notify.frame":
            await self.notify_frame(message)
        elif message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def connect(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []
        self._sending = asyncio.Lock()
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
        raw_since = (query.get("since") or [None])[0]
        try:
            since = decode_since(raw_since) if raw_since else None
        except ProblemError:
            await self.close()
            return
        self.user_id = principal.sub
        self.group = user_group(principal.sub)
        # Join before reading the feed: live frames that arrive meanwhile wait in the
        # channel's queue (this handler runs first) and are de-duplicated by position.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept("bearer" if as_subprotocol else None)
        WS_CONNECTIONS.inc()
        self.counted = True
        heartbeat = container().settings.ws_heartbeat_seconds
        self._tasks.append(asyncio.create_task(self._expire_at(expires_at)))
        self._tasks.append(asyncio.create_task(self._heartbeat(heartbeat)))
        async with self._sending:
            if since is not None and since.feed_position is not None:
                await self._replay_feed(since.feed_position)
                return
            self.last_pos = await database_sync_to_async(feed.feed_head)(user_id=self.user_id)
            if since is not None and since.notification_seq is not None:
                await self._replay_notifications(since.notification_seq)

    async def _replay_feed(self, after: int) -> None:
        """Everything after a sync token, in order; a token past retention gets `resync`."""
        assert self.user_id is not None
        try:
            head = await database_sync_to_async(feed.feed_head_serving)(
                user_id=self.user_id, position=after
            )
        except feed.FeedGoneError:
            self.last_pos = await database_sync_to_async(feed.feed_head)(user_id=self.user_id)
            await self._send_resync()
            return
        self.last_pos = after
        await self._send_stored(upto=head)
        await self._send_replay_done()

    async def _replay_notifications(self, after_seq: int) -> None:
        """Older clients' `n1` cursors: stored notifications only (sync tokens replace them)."""
        assert self.user_id is not None
        last_seq = after_seq
        while True:
            rows = await database_sync_to_async(selectors.notifications_since)(
                user_id=self.user_id, after_seq=last_seq, limit=REPLAY_BATCH
            )
            for row in rows:
                await self.send(text_data=json.dumps(notification_frame(row)))
                last_seq = row.seq
            if len(rows) < REPLAY_BATCH:
                break
        await self._send_replay_done()

    async def _send_replay_done(self) -> None:
        done = {"type": "replay.done", "sync_token": encode_sync_token(self.last_pos)}
        await self.send(text_data=json.dumps(done))

    async def _send_entry(self, row: FeedEntry) -> None:
        await self.send(text_data=json.dumps(feed.positioned(row.frame, row.position)))
        self.last_pos = row.position

    async def _send_resync(self) -> None:
        # The client refetches what it shows, then resumes from this token.
        await self.send(
            text_data=json.dumps(
                {"type": "resync", "reason": "gap", "sync_token": encode_sync_token(self.last_pos)}
            )
        )

    async def _send_stored(self, upto: int) -> int:
        """Send the stored frames after `last_pos` up to `upto`, in pages; how many were sent.

        A hole in the stored positions (pruned meanwhile) sends `resync` instead.
        """
        assert self.user_id is not None
        sent = 0
        while self.last_pos < upto:
            rows = await database_sync_to_async(feed.feed_between)(
                user_id=self.user_id, after=self.last_pos, upto=upto, limit=REPLAY_BATCH
            )
            if not rows or rows[0].position != self.last_pos + 1:
                self.last_pos = upto  # pruned meanwhile: the client must refetch
                await self._send_resync()
                return sent
            for row in rows:
                await self._send_entry(row)
            sent += len(rows)
        return sent

    async def _fill_gap(self, upto: int) -> None:
        """The live stream lost the frames up to `upto`: send them from the feed."""
        FEED_GAPS_FILLED.inc(await self._send_stored(upto))

    async def _expire_at(self, expires_at: float) -> None:
        await asyncio.sleep(max(expires_at - time.time(), 0.0))
        await self.close(code=CLOSE_TOKEN_EXPIRED, reason="token expired")

    async def _heartbeat(self, every: float) -> None:
        assert self.user_id is not None
        assert self.group is not None
        while True:
            await asyncio.sleep(every)
            try:
                # Re-join (idempotent) in case the layer lost the subscription in an outage.
                await self.channel_layer.group_add(self.group, self.channel_name)
                head = await database_sync_to_async(feed.feed_head)(user_id=self.user_id)
            except Exception:
                log.warning("heartbeat could not check the change feed", exc_info=True)
                head = None
            async with self._sending:
                if head is not None and head > self.last_pos:
                    await self._fill_gap(head)
                ping = {"type": "ping", "ts": time.time()}
                await self.send(
                    text_data=json.dumps({**ping, "sync_token": encode_sync_token(self.last_pos)})
                )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == "ping":
            await self.send(text_data=json.dumps({"type": "pong", "ts": time.time()}))

    async def notify_frame(self, event: dict[str, Any]) -> None:
        """A group message: one stored frame for this user, at feed position `pos`."""
        pos = event.get("pos")
        async with self._sending:
            if pos is not None:
                if pos <= self.last_pos:
                    return  # already sent (replayed, filled, or a retried publish)
                if pos > self.last_pos + 1:
                    await self._fill_gap(pos - 1)
                self.last_pos = pos
            with frame_push_span(event):
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
