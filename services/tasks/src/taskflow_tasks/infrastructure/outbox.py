"""The outbox relay: publishes committed events through the EventBus, then marks them sent.

At-least-once: a row is marked sent only after the broker confirmed it, in the same
transaction that locked it (FOR UPDATE SKIP LOCKED on Postgres, so relays can run side by
side without publishing a row twice in normal operation). A crash between the confirm and
the commit republishes that row; consumers deduplicate by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from taskflow_common.events.envelope import RawEnvelope
from taskflow_common.messaging import EventBus, UnroutableEventError
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.uow import OUTBOX_CHANNEL
from taskflow_tasks.infrastructure.metrics import (
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISHED,
    OUTBOX_UNROUTABLE,
)

log = logging.getLogger(__name__)
OB = t.outbox
MAX_BACKOFF_SECONDS = 30.0


class OutboxWaker:
    """Wakes the relay early: after a local commit, or on a Postgres NOTIFY from another process."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def wake(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        bus: EventBus,
        *,
        batch_size: int = 100,
        poll_seconds: float = 1.0,
        unroutable_grace: timedelta = timedelta(seconds=60),
        waker: OutboxWaker | None = None,
        write_lock: asyncio.Lock | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._bus = bus
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        # Consumers declare their queues when they start; until then an event may have no
        # queue. Such events are retried for a grace period, then dropped with a metric.
        self._unroutable_grace = unroutable_grace
        self.waker = waker or OutboxWaker()
        self._write_lock = write_lock
        self._clock = clock

    async def run_once(self) -> int:
        """Publish one batch in order; stop at the first failure. Returns how many were sent."""
        lock = self._write_lock or contextlib.nullcontext()
        async with lock, self._engine.connect() as conn, conn.begin():
            query = select(
                OB.c.id, OB.c.payload, OB.c.traceparent, OB.c.tracestate, OB.c.created_at
            )
            query = query.where(OB.c.sent_at.is_(None)).order_by(OB.c.id).limit(self._batch_size)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await conn.execute(query)).all()
            sent: list[Any] = []
            failure: tuple[Any, str] | None = None
            for row in rows:
                error = await self._publish(row)
                if error is None:
                    sent.append(row.id)
                    continue
                if (
                    error == "unroutable"
                    and self._clock() - row.created_at > self._unroutable_grace
                ):
                    OUTBOX_UNROUTABLE.inc()
                    log.warning(
                        "no queue bound for event; dropping", extra={"event_id": str(row.id)}
                    )
                    sent.append(row.id)
                    continue
                failure = (row.id, error)
                break
            if sent:
                await conn.execute(
                    update(OB).where(OB.c.id.in_(sent)).values(sent_at=self._clock())
                )
            if failure is not None:
                await conn.execute(
                    update(OB)
                    .where(OB.c.id == failure[0])
                    .values(attempts=OB.c.attempts + 1, last_error=failure[1][:2000])
                )
        OUTBOX_PUBLISHED.inc(len(sent))
        if failure is not None:
            raise RelayStalled(failure[1])
        return len(sent)

    async def _publish(self, row: Any) -> str | None:
        envelope = RawEnvelope.model_validate(row.payload)
        carrier = {"traceparent": row.traceparent} if row.traceparent else {}
        if row.tracestate:
            carrier["tracestate"] = row.tracestate
        # Publish as a child of the request that wrote the event: one trace end to end.
        token = otel_context.attach(propagate.extract(carrier))
        try:
            await self._bus.publish(envelope)
        except UnroutableEventError:
            return "unroutable"
        except Exception as exc:  # the broker is down or did not confirm: retry later
            OUTBOX_PUBLISH_FAILURES.inc()
            return f"{type(exc).__name__}: {exc}"
        finally:
            otel_context.detach(token)
        return None

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        backoff = self._poll_seconds
        while not stop.is_set():
            try:
                sent = await self.run_once()
            except RelayStalled as exc:
                log.warning(
                    "outbox relay stalled; retrying",
                    extra={"error": str(exc)[:300], "retry_in_seconds": backoff},
                )
                await _sleep_unless(stop, backoff)  # new commits must not cut the backoff
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            except Exception:
                log.exception("outbox relay cycle failed", extra={"retry_in_seconds": backoff})
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = self._poll_seconds
            if sent < self._batch_size:
                await self.waker.wait(self._poll_seconds)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class RelayStalled(Exception):
    """Publishing stopped at an event the broker would not take yet."""


async def listen_for_commits(database_url: str, waker: OutboxWaker) -> None:
    """Wake the relay on every commit that wrote outbox rows (Postgres LISTEN/NOTIFY).

    Polling remains the safety net: if this connection drops, the relay is merely slower.
    """
    import asyncpg

    url = make_url(database_url).set(drivername="postgresql")
    dsn = url.render_as_string(hide_password=False)
    while True:
        try:
            await _listen_once(asyncpg, dsn, waker)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("outbox LISTEN connection lost; relay falls back to polling")
        await asyncio.sleep(5)


async def _listen_once(asyncpg: Any, dsn: str, waker: OutboxWaker) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        closed = asyncio.Event()
        conn.add_termination_listener(lambda *_: closed.set())
        await conn.add_listener(OUTBOX_CHANNEL, lambda *_: waker.wake())
        waker.wake()
        await closed.wait()
    finally:
        await conn.close()
