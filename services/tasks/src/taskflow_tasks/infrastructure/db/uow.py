"""The SQL unit of work: one transaction; commit writes outbox and activity rows with it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from opentelemetry import propagate
from sqlalchemy import insert, text
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

OUTBOX_CHANNEL = "taskflow_tasks_outbox"


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
    ) -> None:
        self._engine = engine
        # SQLite allows one writer: serialising our own transactions avoids "database is locked".
        self._write_lock = write_lock
        self._after_commit = after_commit
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
        if events:
            await conn.execute(insert(t.outbox), outbox_rows(events))
            activity = activity_rows(events)
            if activity:
                await conn.execute(insert(t.activity), activity)
            if conn.dialect.name == "postgresql":
                # Delivered at commit: wakes relays listening on the channel at once.
                await conn.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
        await conn.commit()
        self._committed = True
        if events and self._after_commit is not None:
            self._after_commit()

    async def rollback(self) -> None:
        await self.connection.rollback()
