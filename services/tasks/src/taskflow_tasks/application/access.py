"""Who may change which task: the one place the owner/member check is decided.

A command carries its actor and, for the admin API only, `as_admin` (set by the interface
after it verified the administrators' realm role in the token). An administrator passes the
ownership and membership checks; nothing else changes: the same handlers, the same domain
rules (an assignee must still be a project member), the same events with the administrator
as their actor (ADR 0112).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from taskflow_tasks.application.ports import UnitOfWork
from taskflow_tasks.domain.errors import Forbidden, NotFound
from taskflow_tasks.domain.model import Task


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    admin: bool = False

    @classmethod
    def of(cls, command: Any) -> Actor:
        return cls(command.actor_id, command.as_admin)


async def writable_task(
    uow: UnitOfWork,
    actor: Actor,
    task_id: UUID,
    *,
    include_deleted: bool = False,
    field: str | None = None,
) -> Task:
    """The task if the actor may change it: 404 if they cannot see it, 403 if read-only."""
    task = await uow.tasks.get(task_id)
    if task is not None and (include_deleted or task.deleted_at is None):
        if actor.admin or task.owner_id == actor.id:
            return task
        role = await uow.projects.role_of(task.project_id, actor.id) if task.project_id else None
        if role is not None:
            if role.can_write:
                return task
            raise Forbidden("you may read this task but not change it")
    if field is not None:
        raise NotFound(f"{field}: no such task")
    raise NotFound("no such task")


async def require_project_write(uow: UnitOfWork, actor: Actor, project_id: UUID) -> None:
    if actor.admin:
        if await uow.projects.get(project_id) is None:
            raise NotFound("project_id: no such project")
        return
    role = await uow.projects.role_of(project_id, actor.id)
    if role is None:
        raise NotFound("project_id: no such project")
    if not role.can_write:
        raise Forbidden("viewers may not add or move tasks in this project")
