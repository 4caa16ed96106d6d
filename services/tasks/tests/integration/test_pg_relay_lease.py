"""The outbox relay's claim lease on the real Postgres (ADR 105): two statements a cycle, relays
side by side, a relay that dies holding a claim, a failure mid-batch. Every relay here claims
and settles on an asyncpg pool built as bootstrap builds it (ADR 107)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from opentelemetry import trace
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from taskflow_common.events.envelope import Envelope
from taskflow_common.ids import uuid7
from taskflow_common.messaging import UnroutableEventError
from taskflow_common.messaging.amqp import BusUnavailableError
from taskflow_common.testing import require_component
from taskflow_tasks.infrastructure.db import migrate
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.engine import create_engine
from taskflow_tasks.infrastructure.db.pg_pool import PgPool
from taskflow_tasks.infrastructure.outbox import CLAIM, SETTLE_ALL_SENT, OutboxRelay, RelayStalled

from .conftest import create_database, database_url, drop_database  # type: ignore[import-not-found]


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    """A database of its own: the relays here publish whatever is pending."""
    require_component("postgres")
    name = await asyncio.to_thread(create_database)
    engine = create_engine(database_url(name), pool_size=5)
    try:
        await migrate.upgrade(engine)
        yield engine
    finally:
        await engine.dispose()
        await asyncio.to_thread(drop_database, name)


@pytest.fixture
async def pg(engine: AsyncEngine) -> AsyncIterator[PgPool]:
    """The asyncpg pool the relays claim and settle on, one per test as bootstrap builds one
    per process (relays side by side share it, as a serve process's relay and commands do)."""
    pool = PgPool(engine.url.render_as_string(hide_password=False), size=5)
    try:
        yield pool
    finally:
        await pool.close()


class RecordingBus:
    """Records what it published, by whom; fails or hangs on the ids it is told to."""

    def __init__(self, name: str = "bus", published: list[tuple[str, UUID]] | None = None):
        self.name = name
        self.published = [] if published is None else published
        self.fail_on: set[UUID] = set()
        self.hang = False
        self.hanging = asyncio.Event()
        self.delay = 0.0
        self.unroutable: set[UUID] = set()
        self.trace_ids: list[int] = []

    async def publish(self, envelope: Envelope[Any], headers: dict[str, str] | None = None):
        if self.hang:
            self.hanging.set()
            await asyncio.Event().wait()
        if envelope.event_id in self.fail_on:
            raise BusUnavailableError("broker did not confirm")
        if envelope.event_id in self.unroutable:
            raise UnroutableEventError(envelope.event_type)
        self.trace_ids.append(trace.get_current_span().get_span_context().trace_id)
        await asyncio.sleep(self.delay)  # at least yield, to let a relay beside this one run
        self.published.append((self.name, envelope.event_id))

    def ids(self) -> list[UUID]:
        return [event_id for _, event_id in self.published]


async def _write(
    engine: AsyncEngine, count: int, *, traceparent: str | None = None, age: timedelta = timedelta()
) -> list[UUID]:
    ids = sorted(uuid7() for _ in range(count))
    now = datetime.now(UTC) - age
    rows = [
        {
            "id": event_id,
            "event_type": "tasks.lease_test.v1",
            "payload": {
                "event_id": str(event_id),
                "event_type": "tasks.lease_test.v1",
                "schema_version": 1,
                "occurred_at": now.isoformat(),
                "producer": "tasks",
                "subject": "lease-test",
                "data": {},
            },
            "traceparent": traceparent,
            "created_at": now,
            "attempts": 0,
        }
        for event_id in ids
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(t.outbox), rows)
    return ids


async def _rows(engine: AsyncEngine) -> dict[UUID, Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.outbox))
        return {row.id: row for row in rows}


@contextmanager
def _round_trips(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement an asyncpg connection sends: prepared ones (fetch, execute with
    arguments) and simple queries (execute without, as BEGIN and COMMIT are sent); and any
    the tests' own SQLAlchemy engine sends (its dialect runs prepared statements these do
    not see)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    execute, prepared = (
        asyncpg.connection.Connection.execute,
        asyncpg.connection.Connection._execute,
    )

    async def simple(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:  # with arguments it goes through _execute, recorded there
            seen.append(query)
        return await execute(self, query, *args, **kwargs)

    async def extended(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(query)
        return await prepared(self, query, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(asyncpg.connection.Connection, "execute", simple)
        patch.setattr(asyncpg.connection.Connection, "_execute", extended)
        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_a_cycle_that_publishes_its_batch_is_two_statements_and_no_transaction(
    engine, pg, monkeypatch
):
    # given three pending events, and a relay whose pool is connected already
    ids = await _write(engine, 3)
    bus = RecordingBus()
    relay = OutboxRelay(pg, bus)
    await pg.pool()

    # when a relay runs one cycle
    with _round_trips(engine, monkeypatch) as seen:
        assert await relay.run_once() == 3

    # then: claim, settle, both on asyncpg; no BEGIN, no COMMIT
    assert seen == [CLAIM, SETTLE_ALL_SENT], seen
    assert bus.ids() == ids
    rows = await _rows(engine)
    assert all(rows[i].sent_at is not None and rows[i].claimed_until is None for i in ids)
    # and an empty cycle is one statement
    with _round_trips(engine, monkeypatch) as seen:
        assert await relay.run_once() == 0
    assert seen == [CLAIM], seen


async def test_two_relays_side_by_side_publish_each_row_once_in_id_order(engine, pg):
    # given 500 pending events and two relays taking batches of 20
    ids = await _write(engine, 500)
    published: list[tuple[str, UUID]] = []
    relays = [OutboxRelay(pg, RecordingBus(name, published), batch_size=20) for name in ("a", "b")]

    async def drain(relay: OutboxRelay) -> None:
        while await relay.run_once():
            pass

    # when both run until they find nothing to claim
    await asyncio.gather(*(drain(relay) for relay in relays))

    # then each row went out once, both relays worked, each in id order
    assert sorted(event_id for _, event_id in published) == ids
    for name in ("a", "b"):
        mine = [event_id for who, event_id in published if who == name]
        assert mine, f"relay {name} published nothing"
        assert mine == sorted(mine)
    rows = await _rows(engine)
    assert all(row.sent_at is not None for row in rows.values())


async def test_rows_claimed_by_a_relay_that_died_are_published_after_the_lease(engine, pg):
    # given a relay with a short lease that claims a batch and dies while publishing it
    ids = await _write(engine, 5)
    lease = timedelta(seconds=2)
    dying_bus = RecordingBus("dying")
    dying_bus.hang = True
    dying = asyncio.create_task(OutboxRelay(pg, dying_bus, lease=lease).run_once())
    await asyncio.wait_for(dying_bus.hanging.wait(), 5)
    assert all(row.claimed_until for row in (await _rows(engine)).values())
    claimed_at = time.monotonic()
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying
    bus = RecordingBus()
    relay = OutboxRelay(pg, bus)

    # when another relay runs before the lease is over, it leaves them alone
    assert await relay.run_once() == 0
    assert bus.published == []
    assert time.monotonic() - claimed_at < lease.total_seconds()

    # and after it, it publishes them, in order
    await asyncio.sleep(lease.total_seconds() - (time.monotonic() - claimed_at) + 0.2)
    assert await relay.run_once() == 5
    assert bus.ids() == ids
    assert dying_bus.published == []


async def test_a_failure_mid_batch_marks_what_went_out_and_releases_the_rest(engine, pg):
    # given five pending events, the third of which the broker will not confirm
    ids = await _write(engine, 5)
    bus = RecordingBus()
    bus.fail_on = {ids[2]}
    relay = OutboxRelay(pg, bus)

    # when a relay runs one cycle
    with pytest.raises(RelayStalled, match="did not confirm"):
        await relay.run_once()

    # then the first two are sent, the third has its failure recorded, none stays claimed
    rows = await _rows(engine)
    assert bus.ids() == ids[:2]
    assert [rows[i].sent_at is not None for i in ids] == [True, True, False, False, False]
    assert [rows[i].attempts for i in ids] == [0, 0, 1, 0, 0]
    assert "did not confirm" in rows[ids[2]].last_error
    assert [rows[i].last_error for i in ids[3:]] == [None, None]
    assert all(row.claimed_until is None for row in rows.values())

    # and the next cycle publishes the rest at once, in order
    bus.fail_on.clear()
    assert await relay.run_once() == 3
    assert bus.ids() == ids
    assert all(row.sent_at is not None for row in (await _rows(engine)).values())


async def test_a_relay_whose_lease_ran_out_leaves_the_new_claim_alone(engine, pg):
    # given a relay whose publish outlasts its lease, and another that claims the row meanwhile
    [event_id] = await _write(engine, 1)
    slow_bus = RecordingBus("slow")
    slow_bus.delay = 0.8
    slow = asyncio.create_task(
        OutboxRelay(pg, slow_bus, lease=timedelta(milliseconds=300)).run_once()
    )
    await asyncio.sleep(0.5)
    other_bus = RecordingBus("other")
    other_bus.hang = True
    other = asyncio.create_task(OutboxRelay(pg, other_bus).run_once())
    await asyncio.wait_for(other_bus.hanging.wait(), 5)
    claimed_by_other = (await _rows(engine))[event_id].claimed_until
    assert claimed_by_other is not None

    # when the slow relay settles
    assert await slow == 1

    # then the row stays the other relay's to publish and mark (at-least-once: twice out)
    row = (await _rows(engine))[event_id]
    assert row.sent_at is None
    assert row.claimed_until == claimed_by_other
    other.cancel()
    with pytest.raises(asyncio.CancelledError):
        await other


async def test_a_cycle_past_its_publish_budget_releases_the_rest_without_a_failure(engine, pg):
    # given three pending events, a lease of 0.4 s (publishing stops after 0.2 s) and a bus
    # that takes 0.3 s to confirm each
    ids = await _write(engine, 3)
    bus = RecordingBus()
    bus.delay = 0.3
    relay = OutboxRelay(pg, bus, lease=timedelta(milliseconds=400))

    # when a relay runs one cycle, it publishes the first, then stops without an error
    assert await relay.run_once() == 1

    # then the first is sent, the others are released untouched, for the next cycle at once
    rows = await _rows(engine)
    assert bus.ids() == ids[:1]
    assert [rows[i].sent_at is not None for i in ids] == [True, False, False]
    assert [(rows[i].attempts, rows[i].last_error) for i in ids] == [(0, None)] * 3
    assert all(row.claimed_until is None for row in rows.values())
    bus.delay = 0.0
    assert await relay.run_once() == 2
    assert bus.ids() == ids


async def test_unroutable_events_are_retried_during_the_grace_then_dropped(engine, pg):
    # given a young and an old event no queue is bound for yet
    [young] = await _write(engine, 1)
    [old] = await _write(engine, 1, age=timedelta(minutes=5))
    bus = RecordingBus()
    bus.unroutable = {young, old}
    relay = OutboxRelay(pg, bus, unroutable_grace=timedelta(minutes=1))

    # when a relay runs a cycle: the young one stalls it, recorded as a failure
    with pytest.raises(RelayStalled, match="unroutable"):
        await relay.run_once()
    rows = await _rows(engine)
    assert (rows[young].sent_at, rows[young].attempts, rows[young].last_error) == (
        None,
        1,
        "unroutable",
    )

    # and once it is past the grace too, both are dropped: marked sent, never published
    relay = OutboxRelay(
        pg,
        bus,
        unroutable_grace=timedelta(minutes=1),
        clock=lambda: datetime.now(UTC) + timedelta(minutes=2),
    )
    assert await relay.run_once() == 2
    rows = await _rows(engine)
    assert rows[young].sent_at is not None
    assert rows[old].sent_at is not None
    assert bus.published == []


async def test_each_event_is_published_in_the_trace_of_the_request_that_wrote_it(engine, pg):
    # given an event written under a trace, and one written outside any
    trace_id = 0x4BF92F3577B34DA6A3CE929D0E0E4736
    traced = await _write(engine, 1, traceparent=f"00-{trace_id:032x}-00f067aa0ba902b7-01")
    await _write(engine, 1)
    bus = RecordingBus()

    # when a relay publishes them
    assert await OutboxRelay(pg, bus).run_once() == 2

    # then the first goes out as a child of its request, the second in no trace
    assert bus.ids()[0] == traced[0]
    assert bus.trace_ids == [trace_id, 0]
