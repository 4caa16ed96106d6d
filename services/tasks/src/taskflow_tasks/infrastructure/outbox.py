"""The outbox relay: publishes committed events through the EventBus, then marks them sent.

At-least-once: a row is marked sent only after the broker confirmed it; a crash in between
republishes it, and consumers deduplicate by event id. On Postgres a relay claims a batch with
a lease (`claimed_until`, ADR 105) in one autocommit statement, publishes it, then settles it
in a second one: two round trips a cycle, no transaction held while publishing. Relays side by
side skip each other's claimed rows, so none publishes a row another holds in normal
operation; a relay that dies holding a claim delays those rows by at most the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate
from sqlalchemy import Update, any_, bindparam, case, func, null, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import Text, Uuid

from taskflow_common.events.envelope import RawEnvelope
from taskflow_common.messaging import EventBus, UnroutableEventError
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.tables import UtcDateTime
from taskflow_tasks.infrastructure.db.uow import OUTBOX_CHANNEL
from taskflow_tasks.infrastructure.metrics import (
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISHED,
    OUTBOX_UNROUTABLE,
)

log = logging.getLogger(__name__)
OB = t.outbox
MAX_BACKOFF_SECONDS = 30.0
_ROW = (OB.c.id, OB.c.payload, OB.c.traceparent, OB.c.tracestate, OB.c.created_at)


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
        lease: timedelta = timedelta(seconds=30),
        unroutable_grace: timedelta = timedelta(seconds=60),
        waker: OutboxWaker | None = None,
        write_lock: asyncio.Lock | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        # Each claim and settle statement commits on its own: no BEGIN/COMMIT round trips.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._bus = bus
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        # A cycle starts no publish past half the lease, so its claim outlives the cycle
        # even with a slow publish in flight (bounded by the bus's confirm timeout).
        self._publish_budget = lease.total_seconds() / 2
        self._claim = _claim_statement(batch_size, lease)
        # Consumers declare their queues when they start; until then an event may have no
        # queue. Such events are retried for a grace period, then dropped with a metric.
        self._unroutable_grace = unroutable_grace
        self.waker = waker or OutboxWaker()
        self._write_lock = write_lock
        self._clock = clock

    async def run_once(self) -> int:
        """Publish one batch in order; stop at the first failure. Returns how many were sent."""
        if self._engine.dialect.name != "postgresql":
            sent, failure = await self._run_once_in_transaction()
        else:
            sent, failure = await self._run_once_under_lease()
        OUTBOX_PUBLISHED.inc(len(sent))
        if failure is not None:
            raise RelayStalled(failure[1])
        return len(sent)

    async def _run_once_under_lease(self) -> tuple[list[Any], tuple[Any, str] | None]:
        started = time.monotonic()
        async with self._autocommit.connect() as conn:
            claimed = (await conn.execute(self._claim)).all()
        if not claimed:
            return [], None
        # RETURNING does not keep the subquery's order.
        rows = sorted(claimed, key=lambda row: row.id)
        sent, failure = await self._publish_in_order(rows, deadline=started + self._publish_budget)
        settle = _SETTLE_ALL_SENT if len(sent) == len(rows) else _SETTLE_SOME
        async with self._autocommit.connect() as conn:
            await conn.execute(
                settle,
                {
                    "held_ids": [row.id for row in rows],
                    "held_until": rows[0].claimed_until,  # one value: the claim's now() + lease
                    "sent_ids": sent,
                    "sent_now": self._clock(),
                    "failed_id": failure[0] if failure else None,
                    "error": failure[1][:2000] if failure else None,
                },
            )
        return sent, failure

    async def _run_once_in_transaction(self) -> tuple[list[Any], tuple[Any, str] | None]:
        """SQLite (embedded: one process, one relay): the locked batch commits with its marks."""
        lock = self._write_lock or contextlib.nullcontext()
        async with lock, self._engine.connect() as conn, conn.begin():
            query = select(*_ROW).where(OB.c.sent_at.is_(None))
            rows = (await conn.execute(query.order_by(OB.c.id).limit(self._batch_size))).all()
            sent, failure = await self._publish_in_order(rows)
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
        return sent, failure

    async def _publish_in_order(
        self, rows: Sequence[Any], deadline: float | None = None
    ) -> tuple[list[Any], tuple[Any, str] | None]:
        """The ids published (or dropped as unroutable past the grace), and the first failure."""
        sent: list[Any] = []
        for row in rows:
            if deadline is not None and time.monotonic() > deadline:
                break  # the rest are released unpublished, for the next cycle
            error = await self._publish(row)
            if error is None:
                sent.append(row.id)
                continue
            if error == "unroutable" and self._clock() - row.created_at > self._unroutable_grace:
                OUTBOX_UNROUTABLE.inc()
                log.warning("no queue bound for event; dropping", extra={"event_id": str(row.id)})
                sent.append(row.id)
                continue
            return sent, (row.id, error)
        return sent, None

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


def _claim_statement(batch_size: int, lease: timedelta) -> Update:
    """Lease the first unsent, unclaimed rows; skip rows another relay's claim is locking."""
    claimable = (
        select(OB.c.id)
        .where(
            OB.c.sent_at.is_(None),
            or_(OB.c.claimed_until.is_(None), OB.c.claimed_until < func.now()),
        )
        .order_by(OB.c.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .cte("claimable")
    )
    return (
        update(OB)
        .where(OB.c.id == claimable.c.id)
        .values(claimed_until=func.now() + lease)
        .returning(*_ROW, OB.c.claimed_until)
    )


_ids = ARRAY(Uuid())


def _settle_statement(*, everything_sent: bool) -> Update:
    """Mark the published rows sent, record the failure, release the rest: one statement.

    Only rows still under this cycle's claim are touched: had the lease run out and another
    relay claimed them, that relay settles them (having published them again: at-least-once).
    """
    settle = update(OB).where(
        OB.c.id == any_(bindparam("held_ids", type_=_ids)),
        OB.c.claimed_until == bindparam("held_until", type_=UtcDateTime()),
    )
    sent_at = bindparam("sent_now", type_=UtcDateTime())
    if everything_sent:  # the common case
        return settle.values(sent_at=sent_at, claimed_until=null())
    published = OB.c.id == any_(bindparam("sent_ids", type_=_ids))
    failed = OB.c.id == bindparam("failed_id", type_=Uuid())
    return settle.values(
        sent_at=case((published, sent_at), else_=OB.c.sent_at),
        attempts=case((failed, OB.c.attempts + 1), else_=OB.c.attempts),
        last_error=case((failed, bindparam("error", type_=Text())), else_=OB.c.last_error),
        claimed_until=null(),
    )


_SETTLE_ALL_SENT = _settle_statement(everything_sent=True)
_SETTLE_SOME = _settle_statement(everything_sent=False)


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
