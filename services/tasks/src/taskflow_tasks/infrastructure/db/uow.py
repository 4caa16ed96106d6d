"""The SQL unit of work: one transaction; commit writes outbox and activity rows with it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, NamedTuple, Protocol, Self

from opentelemetry import propagate
from sqlalchemy import (
    CompoundSelect,
    Insert,
    Interval,
    Select,
    Table,
    bindparam,
    func,
    insert,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from taskflow_common.events import new_envelope
from taskflow_common.ids import uuid7
from taskflow_tasks.application.ports import IdempotencyStore, ProjectRepository, TaskRepository
from taskflow_tasks.domain.events import DomainEvent
from taskflow_tasks.infrastructure.contracts import activity_entry, to_contract
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.repository import (
    SqlIdempotencyStore,
    SqlProjectRepository,
    SqlTaskRepository,
)
from taskflow_tasks.infrastructure.db.tracing import db_span

# Postgres notifies it at commit of every transaction that inserted unclaimed outbox rows: a
# trigger on the outbox table (migrations 0002, 0004) calls pg_notify, so commits need no NOTIFY.
OUTBOX_CHANNEL = "taskflow_tasks_outbox"
# Postgres and asyncpg take at most 32,767 parameters per statement; larger commits (a scheduler
# batch, a project deletion) write outbox and activity rows with one executemany each.
_MAX_PARAMS_PER_STATEMENT = 30_000


class CommittedEvent(NamedTuple):
    """An outbox row as a publisher needs it (the relay's claimed rows have the same fields)."""

    id: Any
    payload: dict[str, Any]
    traceparent: str | None
    tracestate: str | None
    created_at: datetime


class CommitPublisherPort(Protocol):
    """Publishes a process's own events right after commit (ADR 106)."""

    def claim_lease(self) -> timedelta | None:
        """The lease to write new rows under, or None to leave them to the relay."""

    def submit(self, events: list[CommittedEvent]) -> None:
        """Take committed, claimed rows for publishing; never blocks, never raises."""


def outbox_rows(events: list[DomainEvent]) -> list[dict[str, Any]]:
    """Envelopes for the events, carrying the current trace context (W3C traceparent)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    rows = []
    for event in events:
        envelope = new_envelope(to_contract(event), subject=event.actor_id, occurred_at=event.at)
        rows.append(
            {
                "id": envelope.event_id,
                "event_type": envelope.event_type,
                "payload": envelope.model_dump(mode="json"),
                "traceparent": carrier.get("traceparent"),
                "tracestate": carrier.get("tracestate"),
                "created_at": event.at,
                "sent_at": None,
                "attempts": 0,
            }
        )
    return rows


def activity_rows(events: list[DomainEvent]) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        entry = activity_entry(event)
        if entry is not None:
            task_id, action, changes = entry
            rows.append(
                {
                    "id": uuid7(),
                    "task_id": task_id,
                    "actor_id": event.actor_id,
                    "at": event.at,
                    "action": action,
                    "changes": changes,
                }
            )
    return rows


async def _write_outbox_and_activity(
    conn: AsyncConnection,
    outbox: list[dict[str, Any]],
    activity: list[dict[str, Any]],
    claim_lease: timedelta | None = None,
) -> None:
    """One round trip on Postgres: the outbox insert rides along as a data-modifying CTE.

    With a claim lease the rows are written claimed until the database's now() + lease, so no
    relay takes them while this process publishes them itself (ADR 106).
    """
    claimed = claim_lease is not None
    params = len(outbox) * len(t.outbox.c) + len(activity) * len(t.activity.c)
    if activity and conn.dialect.name == "postgresql" and params <= _MAX_PARAMS_PER_STATEMENT:
        values = {
            f"o{i}_{name}": value for i, row in enumerate(outbox) for name, value in row.items()
        }
        for i, row in enumerate(activity):
            values.update({f"a{i}_{name}": value for name, value in row.items()})
        if claimed:
            values["claim_lease"] = claim_lease
        statement = _outbox_and_activity_insert(len(outbox), len(activity), claimed)
        await conn.execute(statement, values)
        return
    # SQLite has no data-modifying CTEs.
    if claimed:
        rows = [{**row, "claim_lease": claim_lease} for row in outbox]
        await conn.execute(insert(t.outbox).values(claimed_until=_CLAIMED_UNTIL), rows)
    else:
        await conn.execute(insert(t.outbox), outbox)
    if activity:
        await conn.execute(insert(t.activity), activity)


# Outbox columns only the relay writes (and `claimed_until`, unless the writer publishes itself).
_LEFT_NULL_ON_INSERT = frozenset({"last_error", "claimed_until"})
# Database time, as the relay's claims (ADR 105): process clocks do not matter.
_CLAIMED_UNTIL = func.now() + bindparam("claim_lease", type_=Interval())


@functools.lru_cache(maxsize=128)
def _outbox_and_activity_insert(outbox_rows: int, activity_rows: int, claimed: bool) -> Insert:
    """WITH o AS (INSERT INTO outbox ...) INSERT INTO activity ..., rows as bound SELECTs.

    Not multi-row VALUES: SQLAlchemy cannot cache those and compiles them on every execution,
    which costs more CPU than the round trip saved. This form caches, one entry per row count.
    """
    outbox = insert(t.outbox).from_select(*_bound_rows(t.outbox, "o", outbox_rows, claimed))
    return (
        insert(t.activity)
        .from_select(*_bound_rows(t.activity, "a", activity_rows))
        .add_cte(outbox.cte("outbox_written"))
    )


def _bound_rows(
    table: Table, prefix: str, count: int, claimed: bool = False
) -> tuple[list[str], Select[Any] | CompoundSelect[Any]]:
    """The columns `outbox_rows` / `activity_rows` fill, and `count` rows of bind parameters."""
    columns = [column for column in table.c if column.name not in _LEFT_NULL_ON_INSERT]
    names = [c.name for c in columns]
    rows = []
    for i in range(count):
        row: list[Any] = [
            bindparam(f"{prefix}{i}_{c.name}", type_=c.type).label(c.name) for c in columns
        ]
        if claimed:
            row.append(_CLAIMED_UNTIL.label("claimed_until"))
        rows.append(select(*row))
    if claimed:
        names.append("claimed_until")
    return names, rows[0] if count == 1 else union_all(*rows)


class SqlUnitOfWork:
    tasks: TaskRepository
    projects: ProjectRepository
    idempotency: IdempotencyStore

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        write_lock: asyncio.Lock | None = None,
        after_commit: Callable[[], None] | None = None,
        publisher: CommitPublisherPort | None = None,
    ) -> None:
        self._engine = engine
        # SQLite allows one writer: serialising our own transactions avoids "database is locked".
        self._write_lock = write_lock
        self._after_commit = after_commit
        self._publisher = publisher
        self._conn: AsyncConnection | None = None
        self._recorded: list[DomainEvent] = []
        self._committed = False

    @property
    def connection(self) -> AsyncConnection:
        assert self._conn is not None, "use the unit of work in `async with`"
        return self._conn

    async def __aenter__(self) -> Self:
        self._span = db_span("TRANSACTION", "tasks unit of work", self._engine.dialect.name)
        self._span.__enter__()
        if self._write_lock is not None:
            await self._write_lock.acquire()
        try:
            self._conn = await self._engine.connect()
            await self._conn.begin()
        except BaseException as exc:
            if self._write_lock is not None:
                self._write_lock.release()
            self._span.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self.tasks = SqlTaskRepository(self._conn)
        self.projects = SqlProjectRepository(self._conn)
        self.idempotency = SqlIdempotencyStore(self._conn)
        self._recorded = []
        self._committed = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._conn is not None:
                if not self._committed:
                    await self._conn.rollback()
                await self._conn.close()
        finally:
            self._conn = None
            if self._write_lock is not None:
                self._write_lock.release()
            self._span.__exit__(exc_type, exc, tb)

    def record(self, event: DomainEvent) -> None:
        self._recorded.append(event)

    def collect_events(self) -> list[DomainEvent]:
        collected: list[DomainEvent] = []
        for task in self.tasks.seen:
            collected.extend(task.events)
            task.events.clear()
        for project in self.projects.seen:
            collected.extend(project.events)
            project.events.clear()
        collected.extend(self._recorded)
        self._recorded = []
        collected.sort(key=lambda event: event.at)
        return collected

    async def commit(self) -> None:
        conn = self.connection
        events = self.collect_events()
        lease = None
        if events:
            outbox = outbox_rows(events)
            if self._publisher is not None:
                lease = self._publisher.claim_lease()
            await _write_outbox_and_activity(conn, outbox, activity_rows(events), lease)
        await conn.commit()
        self._committed = True
        if lease is not None:
            assert self._publisher is not None
            # Published in id order, as the relay does.
            self._publisher.submit(
                sorted(
                    (
                        CommittedEvent(
                            row["id"],
                            row["payload"],
                            row["traceparent"],
                            row["tracestate"],
                            row["created_at"],
                        )
                        for row in outbox
                    ),
                    key=lambda event: event.id,
                )
            )
        if events and self._after_commit is not None:
            self._after_commit()

    async def rollback(self) -> None:
        await self.connection.rollback()
