"""The write side's repositories on one asyncpg connection, inside the unit of work's
transaction: rows locked FOR UPDATE as they are loaded, an identity map per transaction
(identity.py), and reminder rows written only when their inputs changed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from taskflow_tasks.application.ports import DuplicateIdempotencyKey, IdempotencyRecord
from taskflow_tasks.domain.model import Project, Role, Task
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.identity import (
    ProjectIdentityMap,
    TaskIdentityMap,
    reminder_changes,
)
from taskflow_tasks.infrastructure.db.mapping import project_from_row, project_to_row, task_to_row
from taskflow_tasks.infrastructure.db.sql import (
    COLUMNS,
    TASK_FIELDS,
    assignments,
    names,
    placeholders,
)

_TASK_UPDATE_FIELDS = tuple(f for f in TASK_FIELDS if f not in ("id", "created_at"))
_SET_TASK = assignments(_TASK_UPDATE_FIELDS, first=2)
INSERT_TASK = (
    f"INSERT INTO tasks.tasks ({names(TASK_FIELDS)})"  # noqa: S608
    f" VALUES ({placeholders(len(TASK_FIELDS))})"
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
    f"INSERT INTO tasks.projects ({names(PROJECT_FIELDS)})"  # noqa: S608
    f" VALUES ({placeholders(len(PROJECT_FIELDS))})"
)
_PROJECT_UPDATE_FIELDS = tuple(f for f in PROJECT_FIELDS if f not in ("id", "created_at"))
UPDATE_PROJECT = (
    f"UPDATE tasks.projects SET {assignments(_PROJECT_UPDATE_FIELDS, first=2)}"  # noqa: S608
    " WHERE id = $1"
)
GET_PROJECT = (
    f"SELECT {names(PROJECT_FIELDS)} FROM tasks.projects"  # noqa: S608
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
    f"SELECT {names(IDEMPOTENCY_FIELDS)} FROM tasks.idempotency_keys"  # noqa: S608
    " WHERE user_id = $1 AND key = $2"
)
# RETURNING tells a row written from a conflict (another retry committed the key first).
ADD_IDEMPOTENCY_KEY = (
    f"INSERT INTO tasks.idempotency_keys ({names(IDEMPOTENCY_FIELDS)})"  # noqa: S608
    f" VALUES ({placeholders(len(IDEMPOTENCY_FIELDS))}) ON CONFLICT DO NOTHING RETURNING true"
)


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
