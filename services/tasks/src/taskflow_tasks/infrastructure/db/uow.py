"""The SQL unit of work: one transaction; commit writes outbox and activity rows with it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from opentelemetry import propagate
from sqlalchemy import CompoundSelect, Insert, Select, Table, bindparam, insert, select, union_all
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

# Postgres notifies it at commit of every transaction that inserted outbox rows: a statement
# trigger on the outbox table (migration 0002) calls pg_notify, so commits need no NOTIFY.
OUTBOX_CHANNEL = "taskflow_tasks_outbox"
# Postgres and asyncpg take at most 32,767 parameters per statement; larger commits (a scheduler
# batch, a project deletion) write outbox and activity rows with one executemany each.
_MAX_PARAMS_PER_STATEMENT = 30_000


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
    conn: AsyncConnection, outbox: list[dict[str, Any]], activity: list[dict[str, Any]]
) -> None:
    """One round trip on Postgres: the outbox insert rides along as a data-modifying CTE."""
    params = len(outbox) * len(t.outbox.c) + len(activity) * len(t.activity.c)
    if activity and conn.dialect.name == "postgresql" and params <= _MAX_PARAMS_PER_STATEMENT:
        values = {
            f"o{i}_{name}": value for i, row in enumerate(outbox) for name, value in row.items()
        }
        for i, row in enumerate(activity):
            values.update({f"a{i}_{name}": value for name, value in row.items()})
        await conn.execute(_outbox_and_activity_insert(len(outbox), len(activity)), values)
        return
    # SQLite has no data-modifying CTEs.
    await conn.execute(insert(t.outbox), outbox)
    if activity:
        await conn.execute(insert(t.activity), activity)


# Outbox columns only the relay writes.
_LEFT_NULL_ON_INSERT = frozenset({"last_error", "claimed_until"})


@functools.lru_cache(maxsize=64)
def _outbox_and_activity_insert(outbox_rows: int, activity_rows: int) -> Insert:
    """WITH o AS (INSERT INTO outbox ...) INSERT INTO activity ..., rows as bound SELECTs.

    Not multi-row VALUES: SQLAlchemy cannot cache those and compiles them on every execution,
    which costs more CPU than the round trip saved. This form caches, one entry per row count.
    """
    outbox = insert(t.outbox).from_select(*_bound_rows(t.outbox, "o", outbox_rows))
    return (
        insert(t.activity)
        .from_select(*_bound_rows(t.activity, "a", activity_rows))
        .add_cte(outbox.cte("outbox_written"))
    )


def _bound_rows(
    table: Table, prefix: str, count: int
) -> tuple[list[str], Select[Any] | CompoundSelect[Any]]:
    """The columns `outbox_rows` / `activity_rows` fill, and `count` rows of bind parameters."""
    columns = [column for column in table.c if column.name not in _LEFT_NULL_ON_INSERT]
    rows = [
        select(*(bindparam(f"{prefix}{i}_{c.name}", type_=c.type).label(c.name) for c in columns))
        for i in range(count)
    ]
    return [c.name for c in columns], rows[0] if count == 1 else union_all(*rows)


class RecordsEvents:
    """What both units of work (this one and pg_uow.PgUnitOfWork) do with domain events: keep
    the ones recorded beside the aggregates, and at commit take every event the touched
    aggregates hold, with the recorded ones, in order."""

    tasks: TaskRepository
    projects: ProjectRepository
    _recorded: list[DomainEvent]

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


class SqlUnitOfWork(RecordsEvents):
    tasks: TaskRepository
    projects: ProjectRepository
    idempotency: IdempotencyStore

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        write_lock: asyncio.Lock | None = None,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        # SQLite allows one writer: serialising our own transactions avoids "database is locked".
        self._write_lock = write_lock
        self._after_commit = after_commit
        self._conn: AsyncConnection | None = None
        self._recorded = []
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
        self._start_afresh(self._conn)
        self._committed = False
        return self

    def _start_afresh(self, conn: AsyncConnection) -> None:
        """Repositories with empty identity maps and no recorded events: what a transaction
        starts with, and what a rollback leaves (its changes and their events are gone)."""
        self.tasks = SqlTaskRepository(conn)
        self.projects = SqlProjectRepository(conn)
        self.idempotency = SqlIdempotencyStore(conn)
        self._recorded = []

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

    async def commit(self) -> None:
        conn = self.connection
        events = self.collect_events()
        if events:
            await _write_outbox_and_activity(conn, outbox_rows(events), activity_rows(events))
        await conn.commit()
        self._committed = True
        if events and self._after_commit is not None:
            self._after_commit()

    async def rollback(self) -> None:
        """Undo what was written; what follows runs in a new transaction (SQLAlchemy begins
        one on the next statement), rolled back at the end unless committed."""
        conn = self.connection
        await conn.rollback()
        # Forget what the rolled-back transaction loaded and changed: a later commit must not
        # write the events of changes that never happened.
        self._start_afresh(conn)
