"""The command unit of work on Postgres straight through asyncpg: one pooled connection, one
transaction.

SQLAlchemy Core costs about a millisecond of CPU per statement here (compilation cache key,
greenlet hops, result processing), most of a command's CPU; this is the same unit of work as
uow.SqlUnitOfWork with the repository.Sql* repositories (identity map, rows locked FOR
UPDATE, reminder rows synced only when their inputs changed, outbox and activity rows in one
statement at commit) on plain SQL. SQLite (embedded mode) keeps the SQLAlchemy one, and so
does the scheduler, which runs its own statements on the unit of work's connection.

Every statement is a module constant: asyncpg prepares each once per connection and keeps it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import asyncpg

from taskflow_tasks.application.ports import (
    DuplicateIdempotencyKey,
    IdempotencyRecord,
    IdempotencyStore,
    ProjectRepository,
    TaskRepository,
)
from taskflow_tasks.domain.events import DomainEvent
from taskflow_tasks.domain.model import Project, Role, Task
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.mapping import project_from_row, project_to_row, task_to_row
from taskflow_tasks.infrastructure.db.pg_pool import PgPool
from taskflow_tasks.infrastructure.db.pg_reads import COLUMNS
from taskflow_tasks.infrastructure.db.repository import (
    ProjectIdentityMap,
    TaskIdentityMap,
    reminder_changes,
)
from taskflow_tasks.infrastructure.db.tracing import db_span
from taskflow_tasks.infrastructure.db.uow import RecordsEvents, activity_rows, outbox_rows


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _placeholders(count: int, first: int = 1) -> str:
    return ", ".join(f"${i}" for i in range(first, first + count))


def _assignments(columns: Sequence[str], first: int) -> str:
    return ", ".join(f'"{c}" = ${i}' for i, c in enumerate(columns, start=first))


# Statements are assembled once, from table and column names only; every value is bound.
# The task row as `task_to_row` gives it (overdue_fired_at belongs to the scheduler).
TASK_FIELDS = tuple(c.name for c in t.tasks.c if c.name != "overdue_fired_at")
_TASK_UPDATE_FIELDS = tuple(f for f in TASK_FIELDS if f not in ("id", "created_at"))
_SET_TASK = _assignments(_TASK_UPDATE_FIELDS, first=2)
INSERT_TASK = (
    f"INSERT INTO tasks.tasks ({_names(TASK_FIELDS)})"  # noqa: S608
    f" VALUES ({_placeholders(len(TASK_FIELDS))})"
)
UPDATE_TASK = f"UPDATE tasks.tasks SET {_SET_TASK} WHERE id = $1"  # noqa: S608
# A new due date can pass again: the overdue event may fire once more.
UPDATE_TASK_REARM_OVERDUE = (
    f"UPDATE tasks.tasks SET {_SET_TASK}, overdue_fired_at = NULL WHERE id = $1"  # noqa: S608
)
_SELECT_TASKS = f"SELECT {COLUMNS} FROM tasks.tasks"  # noqa: S608
GET_TASK = f"{_SELECT_TASKS} WHERE id = $1 FOR UPDATE"
SUBTASKS = f"{_SELECT_TASKS} WHERE parent_id = $1 FOR UPDATE"
TASKS_IN_PROJECT = f"{_SELECT_TASKS} WHERE project_id = $1 FOR UPDATE"

REMINDERS = 'SELECT "offset", fire_at FROM tasks.reminders WHERE task_id = $1'
DELETE_REMINDERS = 'DELETE FROM tasks.reminders WHERE task_id = $1 AND "offset" = ANY($2::text[])'
# Rows as arrays: one statement, and one prepared statement, whatever their number.
INSERT_REMINDERS = (
    'INSERT INTO tasks.reminders (task_id, "offset", fire_at, fired_at)'
    " SELECT $1, r.o, r.f, NULL FROM unnest($2::text[], $3::timestamptz[]) AS r(o, f)"
)

PROJECT_FIELDS = tuple(c.name for c in t.projects.c)
INSERT_PROJECT = (
    f"INSERT INTO tasks.projects ({_names(PROJECT_FIELDS)})"  # noqa: S608
    f" VALUES ({_placeholders(len(PROJECT_FIELDS))})"
)
_PROJECT_UPDATE_FIELDS = tuple(f for f in PROJECT_FIELDS if f not in ("id", "created_at"))
UPDATE_PROJECT = (
    f"UPDATE tasks.projects SET {_assignments(_PROJECT_UPDATE_FIELDS, first=2)}"  # noqa: S608
    " WHERE id = $1"
)
GET_PROJECT = (
    f"SELECT {_names(PROJECT_FIELDS)} FROM tasks.projects"  # noqa: S608
    " WHERE id = $1 FOR UPDATE"
)
DELETE_PROJECT = "DELETE FROM tasks.projects WHERE id = $1"
MEMBERS = "SELECT user_id, role FROM tasks.members WHERE project_id = $1"
ROLE_OF = "SELECT role FROM tasks.members WHERE project_id = $1 AND user_id = $2"
DELETE_MEMBERS = "DELETE FROM tasks.members WHERE project_id = $1"
INSERT_MEMBERS = (
    "INSERT INTO tasks.members (project_id, user_id, role)"
    " SELECT $1, m.u, m.r FROM unnest($2::text[], $3::text[]) AS m(u, r)"
)

IDEMPOTENCY_FIELDS = ("user_id", "key", "fingerprint", "task_id", "response", "created_at")
GET_IDEMPOTENCY_KEY = (
    f"SELECT {_names(IDEMPOTENCY_FIELDS)} FROM tasks.idempotency_keys"  # noqa: S608
    " WHERE user_id = $1 AND key = $2"
)
# RETURNING tells a row written from a conflict (another retry committed the key first).
ADD_IDEMPOTENCY_KEY = (
    f"INSERT INTO tasks.idempotency_keys ({_names(IDEMPOTENCY_FIELDS)})"  # noqa: S608
    f" VALUES ({_placeholders(len(IDEMPOTENCY_FIELDS))}) ON CONFLICT DO NOTHING RETURNING true"
)

# The columns `outbox_rows` / `activity_rows` fill, with their array types. jsonb travels as
# text: asyncpg would read a list inside a jsonb[] array (labels, changes) as a dimension.
OUTBOX_COLUMNS = (
    ("id", "uuid"),
    ("event_type", "text"),
    ("payload", "jsonb"),
    ("traceparent", "text"),
    ("tracestate", "text"),
    ("created_at", "timestamptz"),
    ("sent_at", "timestamptz"),
    ("attempts", "int8"),
)
ACTIVITY_COLUMNS = (
    ("id", "uuid"),
    ("task_id", "uuid"),
    ("actor_id", "text"),
    ("at", "timestamptz"),
    ("action", "text"),
    ("changes", "jsonb"),
)


def _insert_unnested(table: str, columns: Sequence[tuple[str, str]], first: int) -> str:
    names = [name for name, _ in columns]
    arrays = ", ".join(
        f"${i}::{'text' if kind == 'jsonb' else kind}[]"
        for i, (_, kind) in enumerate(columns, first)
    )
    values = ", ".join(
        f'r."{name}"::jsonb' if kind == "jsonb" else f'r."{name}"' for name, kind in columns
    )
    return (
        f"INSERT INTO tasks.{table} ({_names(names)})"  # noqa: S608
        f" SELECT {values} FROM unnest({arrays}) AS r({_names(names)})"
    )


# Outbox and activity rows in one round trip, the outbox insert as a data-modifying CTE. Rows
# travel as one array per column, so the statement is the same for any number of rows and
# never meets Postgres' 32,767-parameter limit (the SQLAlchemy path binds a parameter per
# value and falls back to executemany past 30,000; here no fallback is needed).
WRITE_EVENTS = (
    f"WITH outbox_written AS ({_insert_unnested('outbox', OUTBOX_COLUMNS, 1)})"
    f" {_insert_unnested('activity', ACTIVITY_COLUMNS, len(OUTBOX_COLUMNS) + 1)}"
)


def _arrays(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> list[list[Any]]:
    return [
        [json.dumps(row[name]) for row in rows] if kind == "jsonb" else [row[name] for row in rows]
        for name, kind in columns
    ]


def events_parameters(events: list[DomainEvent]) -> list[list[Any]]:
    """WRITE_EVENTS' parameters for the events (outbox envelopes and activity entries)."""
    return [
        *_arrays(outbox_rows(events), OUTBOX_COLUMNS),
        *_arrays(activity_rows(events), ACTIVITY_COLUMNS),
    ]


class PgTaskRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._map = TaskIdentityMap()

    @property
    def seen(self) -> Sequence[Task]:
        return self._map.seen

    async def add(self, task: Task) -> None:
        row = task_to_row(task)
        await self._conn.execute(INSERT_TASK, *(row[f] for f in TASK_FIELDS))
        await self._sync_reminders(task, new=True)
        self._map.written(task)

    async def get(self, task_id: UUID) -> Task | None:
        if (task := self._map.loaded(task_id)) is not None:
            return task
        return self._map.track(await self._conn.fetchrow(GET_TASK, task_id))

    async def save(self, task: Task) -> None:
        values = self._map.save_values(task)
        statement = UPDATE_TASK_REARM_OVERDUE if "overdue_fired_at" in values else UPDATE_TASK
        await self._conn.execute(statement, task.id, *(values[f] for f in _TASK_UPDATE_FIELDS))
        if not self._map.reminders_in_step(task):
            await self._sync_reminders(task, new=False)
        self._map.written(task)

    async def subtasks_of(self, task_id: UUID) -> Sequence[Task]:
        return await self._many(SUBTASKS, task_id)

    async def in_project(self, project_id: UUID) -> Sequence[Task]:
        return await self._many(TASKS_IN_PROJECT, project_id)

    async def _many(self, statement: str, key: UUID) -> list[Task]:
        rows = await self._conn.fetch(statement, key)
        return [task for row in rows if (task := self._map.track(row)) is not None]

    async def _sync_reminders(self, task: Task, *, new: bool) -> None:
        existing: dict[str, datetime] = {}
        if not new:
            existing = {
                r["offset"]: r["fire_at"] for r in await self._conn.fetch(REMINDERS, task.id)
            }
        stale, fresh = reminder_changes(task, existing)
        if stale:
            await self._conn.execute(DELETE_REMINDERS, task.id, stale)
        if fresh:
            await self._conn.execute(INSERT_REMINDERS, task.id, list(fresh), list(fresh.values()))


class PgProjectRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._map = ProjectIdentityMap()

    @property
    def seen(self) -> Sequence[Project]:
        return self._map.seen

    async def add(self, project: Project) -> None:
        row = project_to_row(project)
        await self._conn.execute(INSERT_PROJECT, *(row[f] for f in PROJECT_FIELDS))
        await self._write_members(project)
        self._map.track(project)

    async def get(self, project_id: UUID) -> Project | None:
        if (project := self._map.loaded(project_id)) is not None:
            return project
        row = await self._conn.fetchrow(GET_PROJECT, project_id)
        if row is None:
            return None
        members = {m["user_id"]: m["role"] for m in await self._conn.fetch(MEMBERS, project_id)}
        project = project_from_row(row, members)
        self._map.track(project)
        return project

    async def save(self, project: Project) -> None:
        row = project_to_row(project)
        await self._conn.execute(
            UPDATE_PROJECT, project.id, *(row[f] for f in _PROJECT_UPDATE_FIELDS)
        )
        await self._conn.execute(DELETE_MEMBERS, project.id)
        await self._write_members(project)

    async def delete(self, project: Project) -> None:
        await self._conn.execute(DELETE_MEMBERS, project.id)
        await self._conn.execute(DELETE_PROJECT, project.id)
        self._map.deleted(project)

    async def role_of(self, project_id: UUID, user_id: str) -> Role | None:
        if (project := self._map.loaded(project_id)) is not None:
            return project.role_of(user_id)
        role = await self._conn.fetchval(ROLE_OF, project_id, user_id)
        return Role(role) if role is not None else None

    async def _write_members(self, project: Project) -> None:
        if project.members:
            users = list(project.members)
            roles = [role.value for role in project.members.values()]
            await self._conn.execute(INSERT_MEMBERS, project.id, users, roles)


class PgIdempotencyStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def get(self, user_id: str, key: str) -> IdempotencyRecord | None:
        row = await self._conn.fetchrow(GET_IDEMPOTENCY_KEY, user_id, key)
        if row is None:
            return None
        return IdempotencyRecord(**{f: row[f] for f in IDEMPOTENCY_FIELDS})

    async def add(self, record: IdempotencyRecord) -> None:
        written = await self._conn.fetchval(
            ADD_IDEMPOTENCY_KEY,
            record.user_id,
            record.key,
            record.fingerprint,
            record.task_id,
            record.response,
            record.created_at,
        )
        if written is None:
            raise DuplicateIdempotencyKey(record.key)


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
        end unless committed (as SQLAlchemy's connection begins one on the next statement)."""
        conn = self.connection
        if self._in_transaction:
            await conn.execute("ROLLBACK")
        # Forget what the rolled-back transaction loaded and changed: a later commit must not
        # write the events of changes that never happened.
        self._start_afresh(conn)
        await conn.execute("BEGIN")
        self._in_transaction = True
