"""SQL repositories for the write side, on one connection inside the unit of work's transaction.

They keep an identity map, so a task loaded twice in one transaction (a batch naming it twice)
is one object and no change is lost. The identity maps and the reminder bookkeeping are shared
with the asyncpg unit of work (pg_uow.py), which Postgres commands use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from taskflow_tasks.application.ports import DuplicateIdempotencyKey, IdempotencyRecord
from taskflow_tasks.domain.model import Project, Role, Task
from taskflow_tasks.domain.reminders import fire_times
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.mapping import (
    project_from_row,
    project_to_row,
    task_from_row,
    task_to_row,
)


def _wanted_reminders(task: Task) -> dict[str, datetime]:
    if task.deleted_at is not None or not task.is_open:
        return {}
    return fire_times(task.due_at, task.reminders)


_ReminderInputs = tuple[datetime | None, tuple[str, ...], bool]


def _reminder_inputs(task: Task) -> _ReminderInputs:
    """Everything `_wanted_reminders` reads: equal inputs, equal pending reminder rows."""
    return (task.due_at, task.reminders, task.deleted_at is None and task.is_open)


def reminder_changes(
    task: Task, existing: dict[str, datetime]
) -> tuple[list[str], dict[str, datetime]]:
    """Pending reminder rows follow due_at/reminders; a fired one fires again only if moved.

    Returns the offsets whose rows go (stale) and the rows to write (offset -> fire_at).
    """
    wanted = _wanted_reminders(task)
    stale = [o for o, at in existing.items() if wanted.get(o) != at]
    fresh = {o: at for o, at in wanted.items() if existing.get(o) != at}
    return stale, fresh


class TaskIdentityMap:
    """What a task repository remembers within one transaction (both write paths share it).

    A task loaded twice is one object, so no change is lost; the due date as loaded decides
    whether the overdue notice is re-armed; the reminder inputs as last synced decide whether
    a save needs any reminder statement.
    """

    def __init__(self) -> None:
        self._seen: dict[UUID, Task] = {}
        self._loaded_due: dict[UUID, datetime | None] = {}
        # What the reminder rows were last kept in step with (at load or at the last save).
        self._synced_reminders: dict[UUID, _ReminderInputs] = {}

    @property
    def seen(self) -> Sequence[Task]:
        return list(self._seen.values())

    def loaded(self, task_id: UUID) -> Task | None:
        return self._seen.get(task_id)

    def track(self, row: Mapping[Any, Any] | None) -> Task | None:
        """The task for a row just read: the object already loaded, if any, wins."""
        if row is None:
            return None
        task = task_from_row(row)
        if task.id in self._seen:
            return self._seen[task.id]
        self.written(task)
        return task

    def save_values(self, task: Task) -> dict[str, Any]:
        """The row to UPDATE with; overdue_fired_at is cleared when the due date moved."""
        values = task_to_row(task)
        del values["id"], values["created_at"]
        if task.due_at != self._loaded_due.get(task.id, task.due_at):
            # A new due date can pass again: the overdue event may fire once more.
            values["overdue_fired_at"] = None
        return values

    def reminders_in_step(self, task: Task) -> bool:
        """Unchanged inputs: the rows already match (every save keeps them in step, and the
        task row is locked), so a title edit costs no reminder statement."""
        return self._synced_reminders.get(task.id) == _reminder_inputs(task)

    def written(self, task: Task) -> None:
        """The task's row and reminder rows are now as the task says."""
        self._seen[task.id] = task
        self._loaded_due[task.id] = task.due_at
        self._synced_reminders[task.id] = _reminder_inputs(task)


class ProjectIdentityMap:
    """What a project repository remembers within one transaction (both write paths share it):
    a project loaded twice is one object, and a deleted one still hands over its events."""

    def __init__(self) -> None:
        self._seen: dict[UUID, Project] = {}
        self._deleted: list[Project] = []

    @property
    def seen(self) -> Sequence[Project]:
        return [*self._seen.values(), *self._deleted]

    def loaded(self, project_id: UUID) -> Project | None:
        return self._seen.get(project_id)

    def track(self, project: Project) -> None:
        self._seen[project.id] = project

    def deleted(self, project: Project) -> None:
        self._seen.pop(project.id, None)
        self._deleted.append(project)


class SqlTaskRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._lock_rows = conn.dialect.name == "postgresql"
        self._map = TaskIdentityMap()

    @property
    def seen(self) -> Sequence[Task]:
        return self._map.seen

    async def add(self, task: Task) -> None:
        await self._conn.execute(insert(t.tasks).values(task_to_row(task)))
        await self._sync_reminders(task, new=True)
        self._map.written(task)

    async def get(self, task_id: UUID) -> Task | None:
        if (task := self._map.loaded(task_id)) is not None:
            return task
        query = select(t.tasks).where(t.tasks.c.id == task_id)
        if self._lock_rows:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        return self._map.track(row)

    async def save(self, task: Task) -> None:
        values = self._map.save_values(task)
        await self._conn.execute(update(t.tasks).where(t.tasks.c.id == task.id).values(values))
        if not self._map.reminders_in_step(task):
            await self._sync_reminders(task, new=False)
        self._map.written(task)

    async def subtasks_of(self, task_id: UUID) -> Sequence[Task]:
        return await self._many(select(t.tasks).where(t.tasks.c.parent_id == task_id))

    async def in_project(self, project_id: UUID) -> Sequence[Task]:
        return await self._many(select(t.tasks).where(t.tasks.c.project_id == project_id))

    async def _many(self, query: object) -> list[Task]:
        if self._lock_rows:
            query = query.with_for_update()  # type: ignore[attr-defined]
        rows = (await self._conn.execute(query)).mappings().all()  # type: ignore[call-overload]
        return [task for row in rows if (task := self._map.track(row)) is not None]

    async def _sync_reminders(self, task: Task, *, new: bool) -> None:
        existing: dict[str, datetime] = {}
        if not new:
            rows = await self._conn.execute(
                select(t.reminders.c.offset, t.reminders.c.fire_at).where(
                    t.reminders.c.task_id == task.id
                )
            )
            existing = dict(rows.all())
        stale, fresh = reminder_changes(task, existing)
        if stale:
            await self._conn.execute(
                delete(t.reminders).where(
                    t.reminders.c.task_id == task.id, t.reminders.c.offset.in_(stale)
                )
            )
        if fresh:
            await self._conn.execute(
                insert(t.reminders),
                [
                    {"task_id": task.id, "offset": o, "fire_at": at, "fired_at": None}
                    for o, at in fresh.items()
                ],
            )


class SqlProjectRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._lock_rows = conn.dialect.name == "postgresql"
        self._map = ProjectIdentityMap()

    @property
    def seen(self) -> Sequence[Project]:
        return self._map.seen

    async def add(self, project: Project) -> None:
        await self._conn.execute(insert(t.projects).values(project_to_row(project)))
        await self._write_members(project)
        self._map.track(project)

    async def get(self, project_id: UUID) -> Project | None:
        if (project := self._map.loaded(project_id)) is not None:
            return project
        query = select(t.projects).where(t.projects.c.id == project_id)
        if self._lock_rows:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        if row is None:
            return None
        member_rows = await self._conn.execute(
            select(t.members.c.user_id, t.members.c.role).where(
                t.members.c.project_id == project_id
            )
        )
        project = project_from_row(row, dict(member_rows.all()))
        self._map.track(project)
        return project

    async def save(self, project: Project) -> None:
        values = project_to_row(project)
        del values["id"], values["created_at"]
        await self._conn.execute(
            update(t.projects).where(t.projects.c.id == project.id).values(values)
        )
        await self._conn.execute(delete(t.members).where(t.members.c.project_id == project.id))
        await self._write_members(project)

    async def delete(self, project: Project) -> None:
        await self._conn.execute(delete(t.members).where(t.members.c.project_id == project.id))
        await self._conn.execute(delete(t.projects).where(t.projects.c.id == project.id))
        self._map.deleted(project)

    async def role_of(self, project_id: UUID, user_id: str) -> Role | None:
        if (project := self._map.loaded(project_id)) is not None:
            return project.role_of(user_id)
        role = await self._conn.scalar(
            select(t.members.c.role).where(
                t.members.c.project_id == project_id, t.members.c.user_id == user_id
            )
        )
        return Role(role) if role is not None else None

    async def _write_members(self, project: Project) -> None:
        if project.members:
            await self._conn.execute(
                insert(t.members),
                [
                    {"project_id": project.id, "user_id": user, "role": role.value}
                    for user, role in project.members.items()
                ],
            )


class SqlIdempotencyStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, user_id: str, key: str) -> IdempotencyRecord | None:
        row = (
            (
                await self._conn.execute(
                    select(t.idempotency_keys).where(
                        t.idempotency_keys.c.user_id == user_id, t.idempotency_keys.c.key == key
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return IdempotencyRecord(
            user_id=row["user_id"],
            key=row["key"],
            fingerprint=row["fingerprint"],
            task_id=row["task_id"],
            response=row["response"],
            created_at=row["created_at"],
        )

    async def add(self, record: IdempotencyRecord) -> None:
        dialect_insert = pg_insert if self._conn.dialect.name == "postgresql" else sqlite_insert
        statement = (
            dialect_insert(t.idempotency_keys)
            .values(
                user_id=record.user_id,
                key=record.key,
                fingerprint=record.fingerprint,
                task_id=record.task_id,
                response=record.response,
                created_at=record.created_at,
            )
            .on_conflict_do_nothing()
        )
        result = await self._conn.execute(statement)
        if result.rowcount == 0:
            raise DuplicateIdempotencyKey(record.key)
