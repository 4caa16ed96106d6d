"""The outbox relay: publishes committed events through the EventBus, then marks them sent.

At-least-once: a row is marked sent only after the broker confirmed it; a crash in between
republishes it, and consumers deduplicate by event id. A relay claims a batch with a lease
(`claimed_until`, ADR 105) in one autocommit statement, publishes it, then settles it in a
second one: two round trips a cycle, no transaction held while publishing. Relays side by
side skip each other's claimed rows, so none publishes a row another holds in normal
operation; a relay that dies holding a claim delays those rows by at most the lease.

Those two statements run on the process's asyncpg pool (ADR 107); a relay is woken by the
outbox trigger's NOTIFY (ADR 104) or, in the same process, by the unit of work's commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
from opentelemetry import context as otel_context
from opentelemetry import propagate

from taskflow_common.events.envelope import RawEnvelope
from taskflow_common.messaging import EventBus, UnroutableEventError
from taskflow_tasks.infrastructure.db.events import OUTBOX_CHANNEL
from taskflow_tasks.infrastructure.db.pg_pool import PgPool, asyncpg_dsn
from taskflow_tasks.infrastructure.db.tracing import record_in_each_trace
from taskflow_tasks.infrastructure.metrics import (
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISHED,
    OUTBOX_UNROUTABLE,
)

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 30.0


class PendingEvent(NamedTuple):
    """An unsent outbox row as the claim hands it to the publishing loop."""

    id: UUID
    payload: dict[str, Any]  # the envelope, decoded (PgPool's connections decode jsonb)
    traceparent: str | None
    tracestate: str | None
    created_at: datetime


Failure = tuple[UUID, str]

# Postgres statements, run on asyncpg (prepared once per pooled connection). Each commits on
# its own (no BEGIN/COMMIT round trips). The lease and batch size are bound, not inlined, so
# the text, and the prepared statement, is the same for every relay.
# Lease the first unsent, unclaimed rows; skip rows another relay's claim is locking.
# RETURNING does not keep the subquery's order: the relay sorts by id.
CLAIM = (
    "WITH claimable AS ("
    " SELECT id FROM tasks.outbox"
    " WHERE sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())"
    " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " UPDATE tasks.outbox o SET claimed_until = now() + $2::interval"
    " FROM claimable WHERE o.id = claimable.id"
    " RETURNING o.id, o.payload, o.traceparent, o.tracestate, o.created_at, o.claimed_until"
)
# Settle: only rows still under this cycle's claim ($1 ids, $2 its claimed_until) are touched.
# Had the lease run out and another relay claimed them, that relay settles them (having
# published them again: at-least-once). Every held row is released (claimed_until NULL), so
# the unpublished ones are retried at once rather than after the lease.
SETTLE_ALL_SENT = (  # the common case: the whole batch went out
    "UPDATE tasks.outbox SET sent_at = $3, claimed_until = NULL"
    " WHERE id = ANY($1::uuid[]) AND claimed_until = $2"
)
SETTLE_SOME = (  # $4 ids sent, $5 the failed id (or NULL), $6 its error
    "UPDATE tasks.outbox SET"
    " sent_at = CASE WHEN id = ANY($4::uuid[]) THEN $3::timestamptz ELSE sent_at END,"
    " attempts = CASE WHEN id = $5::uuid THEN attempts + 1 ELSE attempts END,"
    " last_error = CASE WHEN id = $5::uuid THEN $6::text ELSE last_error END,"
    " claimed_until = NULL"
    " WHERE id = ANY($1::uuid[]) AND claimed_until = $2"
)


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
    """Claims and settles on `pg`, the process's asyncpg pool: one connection at a time, for
    a statement, so it shares the pool with the commands."""

    def __init__(
        self,
        pg: PgPool,
        bus: EventBus,
        *,
        batch_size: int = 100,
        poll_seconds: float = 1.0,
        lease: timedelta = timedelta(seconds=30),
        unroutable_grace: timedelta = timedelta(seconds=60),
        waker: OutboxWaker | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._pg = pg
        self._bus = bus
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._lease = lease
        # A cycle starts no publish past half the lease, so its claim outlives the cycle
        # even with a slow publish in flight (bounded by the bus's confirm timeout).
        self._publish_budget = lease.total_seconds() / 2
        # Consumers declare their queues when they start; until then an event may have no
        # queue. Such events are retried for a grace period, then dropped with a metric.
        self._unroutable_grace = unroutable_grace
        self.waker = waker or OutboxWaker()
        self._clock = clock

    async def run_once(self) -> int:
        """Publish one batch in order; stop at the first failure. Returns how many were sent."""
        sent, failure = await self._run_once_under_lease(self._pg)
        OUTBOX_PUBLISHED.inc(len(sent))
        if failure is not None:
            raise RelayStalled(failure[1])
        return len(sent)

    async def _run_once_under_lease(self, pg: PgPool) -> tuple[list[UUID], Failure | None]:
        started = time.monotonic()
        claim_started = time.time_ns()
        rows, held_until = await self._claim(pg)
        if not rows:
            return [], None
        claimed = time.time_ns()
        sent, failure = await self._publish_in_order(rows, deadline=started + self._publish_budget)
        settle_started = time.time_ns()
        await self._settle(pg, rows, held_until, sent, failure)
        _trace_batch(rows, (claim_started, claimed), (settle_started, time.time_ns()), sent)
        return sent, failure

    async def _claim(self, pg: PgPool) -> tuple[list[PendingEvent], datetime | None]:
        """The claimed rows in id order, and the claim's `claimed_until` (one now() + lease)."""
        pool = await pg.pool()
        claimed = await pool.fetch(CLAIM, self._batch_size, self._lease)
        if not claimed:
            return [], None
        rows = sorted(PendingEvent(*record[:5]) for record in claimed)  # by id: unique
        return rows, claimed[0]["claimed_until"]

    async def _settle(
        self,
        pg: PgPool,
        rows: Sequence[PendingEvent],
        held_until: datetime | None,
        sent: list[UUID],
        failure: Failure | None,
    ) -> None:
        held = [row.id for row in rows]
        pool = await pg.pool()
        if len(sent) == len(rows):
            await pool.execute(SETTLE_ALL_SENT, held, held_until, self._clock())
            return
        failed_id, error = failure if failure is not None else (None, None)
        await pool.execute(
            SETTLE_SOME,
            held,
            held_until,
            self._clock(),
            sent,
            failed_id,
            error[:2000] if error is not None else None,
        )

    async def _publish_in_order(
        self, rows: Sequence[PendingEvent], deadline: float
    ) -> tuple[list[UUID], Failure | None]:
        """The ids published (or dropped as unroutable past the grace), and the first failure."""
        sent: list[UUID] = []
        for row in rows:
            if time.monotonic() > deadline:
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

    async def _publish(self, row: PendingEvent) -> str | None:
        envelope = RawEnvelope.model_validate(row.payload)
        # Publish as a child of the request that wrote the event: one trace end to end.
        token = otel_context.attach(propagate.extract(_carrier(row)))
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


def _carrier(row: PendingEvent) -> dict[str, str]:
    carrier = {"traceparent": row.traceparent} if row.traceparent else {}
    if row.tracestate:
        carrier["tracestate"] = row.tracestate
    return carrier


def _trace_batch(
    rows: Sequence[PendingEvent],
    claim: tuple[int, int],
    settle: tuple[int, int],
    sent: Sequence[UUID],
) -> None:
    """The claim and the settle, each one statement for the whole batch, as a span in the
    trace of every event they carried (recorded once both are done, with their timing)."""
    carriers = [_carrier(row) for row in rows]
    batch = {"db.operation.batch.size": len(rows)}
    record_in_each_trace(
        "UPDATE outbox (claim)",
        carriers,
        start_ns=claim[0],
        end_ns=claim[1],
        attributes={**batch, "db.operation.name": "UPDATE", "db.query.summary": "claim outbox"},
    )
    record_in_each_trace(
        "UPDATE outbox (settle)",
        carriers,
        start_ns=settle[0],
        end_ns=settle[1],
        attributes={
            **batch,
            "db.operation.name": "UPDATE",
            "db.query.summary": "settle outbox",
            "taskflow.outbox.sent": len(sent),
        },
    )


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class RelayStalled(Exception):
    """Publishing stopped at an event the broker would not take yet."""


async def listen_for_commits(database_url: str, waker: OutboxWaker) -> None:
    """Wake the relay on every commit that wrote outbox rows (Postgres LISTEN/NOTIFY).

    Polling remains the safety net: if this connection drops, the relay is merely slower.
    """
    dsn = asyncpg_dsn(database_url)
    while True:
        try:
            await _listen_once(dsn, waker)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("outbox LISTEN connection lost; relay falls back to polling")
        await asyncio.sleep(5)


async def _listen_once(dsn: str, waker: OutboxWaker) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        closed = asyncio.Event()
        conn.add_termination_listener(lambda *_: closed.set())
        await conn.add_listener(OUTBOX_CHANNEL, lambda *_: waker.wake())
        waker.wake()
        await closed.wait()
    finally:
        await conn.close()
