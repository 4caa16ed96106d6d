"""Publish on commit (ADR 106): a web process publishes its own events right after commit.

The unit of work writes the outbox rows already claimed (`claimed_until = now() + lease`), so
no relay takes them, and hands them here once committed. One task publishes them in submission
order; the confirmed ids are marked sent in one autocommit UPDATE at most every `mark_interval`
(until then they stay claimed). On any failure the failed row and everything not yet published
is released (`claimed_until = NULL`, with a NOTIFY) for the relay, which applies the unroutable
grace and its backoff, and new rows go to the relay for a cool-down. A crash before the mark
republishes after the lease: at-least-once, consumers deduplicate by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import any_, bindparam, exists, func, null, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import Uuid

from taskflow_common.messaging import EventBus
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.tables import UtcDateTime
from taskflow_tasks.infrastructure.db.uow import OUTBOX_CHANNEL, CommittedEvent
from taskflow_tasks.infrastructure.metrics import (
    OUTBOX_PUBLISHED_ON_COMMIT,
    OUTBOX_RELEASED_TO_RELAY,
)
from taskflow_tasks.infrastructure.outbox import publish_row

log = logging.getLogger(__name__)
OB = t.outbox
_ids = ARRAY(Uuid())


class CommitPublisher:
    def __init__(
        self,
        engine: AsyncEngine,
        bus: EventBus,
        *,
        lease: timedelta = timedelta(seconds=30),
        mark_interval: float = 0.05,
        publish_timeout: float = 5.0,
        cool_down: float = 5.0,
        max_queued: int = 10_000,
    ) -> None:
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._bus = bus
        self._lease = lease
        self._mark_interval = mark_interval
        self._publish_timeout = publish_timeout
        self._cool_down = cool_down
        self._max_queued = max_queued
        self._queue: deque[CommittedEvent] = deque()
        self._submitted = asyncio.Event()
        self._to_mark: list[Any] = []
        self._to_release: list[Any] = []
        self._dirty = asyncio.Event()
        self._connected = False
        self._closing = False
        self._broken = False
        self._cooling_until = 0.0
        self._tasks: list[asyncio.Task[None]] = []

    # -- the unit of work's side: never blocks, never raises --------------------------------

    def claim_lease(self) -> timedelta | None:
        return self._lease if self._accepting() else None

    def submit(self, events: list[CommittedEvent]) -> None:
        if self._accepting():
            self._queue.extend(events)
            self._submitted.set()
        else:  # the state changed since the rows were written: the relay takes them
            self._release([event.id for event in events])

    def _accepting(self) -> bool:
        return (
            self._connected
            and not self._closing
            and not self._broken
            and time.monotonic() >= self._cooling_until
            and len(self._queue) < self._max_queued
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._publish_forever(), name="tasks-commit-publisher"),
            asyncio.create_task(self._settle_forever(), name="tasks-commit-publisher-marks"),
        ]
        self._tasks[0].add_done_callback(self._publishing_ended)

    def _publishing_ended(self, task: asyncio.Task[None]) -> None:
        if self._closing:
            return
        # Not expected: from now on every event is left to the relay, rather than claimed here
        # and held for a lease.
        error = None if task.cancelled() else task.exception()
        log.error(
            "commit publisher stopped; the relay publishes every event from now on",
            exc_info=error,
        )
        self._broken = True
        self._release([event.id for event in self._queue])
        self._queue.clear()

    def bus_connected(self) -> None:
        """The bus is up (started in the background): from now on rows are claimed here."""
        self._connected = True

    async def close(self, drain_seconds: float = 5.0) -> None:
        """Publish what is queued (within `drain_seconds`), release the rest, flush marks."""
        self._closing = True
        self._submitted.set()
        publishing, settling = self._tasks or (None, None)
        if publishing is not None:
            try:
                await asyncio.wait_for(publishing, drain_seconds)
            except TimeoutError:
                pass  # cancelled: what it held is released below
            except Exception:
                log.exception("commit publisher failed while closing")
        if settling is not None:
            settling.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await settling
        # What is left (a publish cut off by the timeout included) goes to the relay.
        self._release([event.id for event in self._queue])
        self._queue.clear()
        await self._settle()

    # -- the publishing task ------------------------------------------------------------------

    async def _publish_forever(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._submitted.clear()
                await self._submitted.wait()
                continue
            event = self._queue[0]
            error = await self._publish(event)
            self._queue.popleft()
            if error is None:
                OUTBOX_PUBLISHED_ON_COMMIT.inc()
                self._to_mark.append(event.id)
                self._dirty.set()
                continue
            log.warning(
                "publish on commit failed; the relay takes over",
                extra={
                    "error": error[:300],
                    "event_id": str(event.id),
                    "cool_down_seconds": self._cool_down,
                },
            )
            self._cooling_until = time.monotonic() + self._cool_down
            self._release([event.id, *(queued.id for queued in self._queue)])
            self._queue.clear()

    async def _publish(self, event: CommittedEvent) -> str | None:
        try:
            async with asyncio.timeout(self._publish_timeout):
                return await publish_row(self._bus, event)
        except TimeoutError:
            return "no confirm within the publish timeout"
        except Exception as exc:  # e.g. a payload that is no envelope: the relay records it
            return f"{type(exc).__name__}: {exc}"

    def _release(self, ids: list[Any]) -> None:
        if ids:
            OUTBOX_RELEASED_TO_RELAY.inc(len(ids))
            self._to_release.extend(ids)
            self._dirty.set()

    # -- the marking task ---------------------------------------------------------------------

    async def _settle_forever(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self._mark_interval)  # let the marks of this interval gather
            try:
                await self._settle()
            except Exception:
                # The ids stay queued: retried next time. Rows never marked go out again
                # from the relay once their lease ends (at-least-once).
                log.exception("marking published outbox rows failed; retrying")
                await asyncio.sleep(1.0)

    async def _settle(self) -> None:
        self._dirty.clear()
        sent, self._to_mark = self._to_mark, []
        released, self._to_release = self._to_release, []
        try:
            async with self._autocommit.connect() as conn:
                if sent:
                    await conn.execute(_MARK_SENT, {"ids": sent, "now": datetime.now(UTC)})
                if released:
                    await conn.execute(_RELEASE, {"ids": released})
        except BaseException:
            self._to_mark = sent + self._to_mark
            self._to_release = released + self._to_release
            self._dirty.set()
            raise


# Only unsent rows: had a lease run out and a relay published and marked the row, it stays so.
_MARK_SENT = (
    update(OB)
    .where(OB.c.id == any_(bindparam("ids", type_=_ids)), OB.c.sent_at.is_(None))
    .values(sent_at=bindparam("now", type_=UtcDateTime()), claimed_until=null())
)


def _release_statement() -> Any:
    """Clear the claims and wake the relays (the insert trigger skipped these claimed rows)."""
    released = (
        update(OB)
        .where(OB.c.id == any_(bindparam("ids", type_=_ids)), OB.c.sent_at.is_(None))
        .values(claimed_until=null())
        .returning(OB.c.id)
        .cte("released")
    )
    return select(func.pg_notify(OUTBOX_CHANNEL, "")).where(exists(select(released.c.id)))


_RELEASE = _release_statement()
