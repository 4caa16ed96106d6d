"""The unit of work on one pooled asyncpg connection: one transaction; commit writes the outbox
and activity rows of every event the touched aggregates recorded, in the same transaction.

Plain SQL, no SQLAlchemy at run time: through SQLAlchemy Core each statement cost about a
millisecond of CPU (ADR 107), most of a command's. The scheduler runs its own statements on
the unit of work's connection (`connection`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

import asyncpg

from taskflow_tasks.application.ports import IdempotencyStore, ProjectRepository, TaskRepository
from taskflow_tasks.infrastructure.db.events import WRITE_EVENTS, RecordsEvents, events_parameters
from taskflow_tasks.infrastructure.db.pg_pool import PgPool
from taskflow_tasks.infrastructure.db.repositories import (
    PgIdempotencyStore,
    PgProjectRepository,
    PgTaskRepository,
)
from taskflow_tasks.infrastructure.db.tracing import db_span


class PgUnitOfWork(RecordsEvents):
    tasks: TaskRepository
    projects: ProjectRepository
    idempotency: IdempotencyStore

    def __init__(self, pool: PgPool, *, after_commit: Callable[[], None] | None = None) -> None:
        self._pool = pool
        self._after_commit = after_commit
        self._conn: asyncpg.Connection | None = None
        self._recorded = []
        self._in_transaction = False

    @property
    def connection(self) -> asyncpg.Connection:
        assert self._conn is not None, "use the unit of work in `async with`"
        return self._conn

    async def __aenter__(self) -> Self:
        self._span = db_span("TRANSACTION", "tasks unit of work")
        self._span.__enter__()
        try:
            pool = await self._pool.pool()
            self._conn = await pool.acquire()
            try:
                # Plain BEGIN/COMMIT: one transaction, never nested, needs none of the
                # bookkeeping of asyncpg's Transaction object (savepoints, state checks).
                await self._conn.execute("BEGIN")
            except BaseException:
                await pool.release(self._conn)
                self._conn = None
                raise
        except BaseException as exc:
            self._span.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._in_transaction = True
        self._start_afresh(self._conn)
        return self

    def _start_afresh(self, conn: asyncpg.Connection) -> None:
        """Repositories with empty identity maps and no recorded events: what a transaction
        starts with, and what a rollback leaves (its changes and their events are gone)."""
        self.tasks = PgTaskRepository(conn)
        self.projects = PgProjectRepository(conn)
        self.idempotency = PgIdempotencyStore(conn)
        self._recorded = []

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        try:
            if conn is not None and self._in_transaction and not conn.is_closed():
                await conn.execute("ROLLBACK")
        finally:
            self._conn = None
            self._in_transaction = False
            try:
                if conn is not None:
                    # Releasing also rolls back if the ROLLBACK above was interrupted.
                    await (await self._pool.pool()).release(conn)
            finally:
                self._span.__exit__(exc_type, exc, tb)

    async def commit(self) -> None:
        conn = self.connection
        events = self.collect_events()
        if events:
            await conn.execute(WRITE_EVENTS, *events_parameters(events))
        await conn.execute("COMMIT")
        self._in_transaction = False
        if events and self._after_commit is not None:
            self._after_commit()

    async def rollback(self) -> None:
        """Undo what was written; what follows runs in a new transaction, rolled back at the
        end unless committed."""
        conn = self.connection
        if self._in_transaction:
            await conn.execute("ROLLBACK")
        # Forget what the rolled-back transaction loaded and changed: a later commit must not
        # write the events of changes that never happened.
        self._start_afresh(conn)
        await conn.execute("BEGIN")
        self._in_transaction = True
