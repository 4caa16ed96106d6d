"""Command handlers: one async function per command, each in one unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID

from taskflow_tasks.application import commands as c
from taskflow_tasks.application.access import Actor, require_project_write, writable_task
from taskflow_tasks.application.commands import BatchResult, CreatedTask
from taskflow_tasks.application.deps import Deps
from taskflow_tasks.application.ports import (
    DuplicateIdempotencyKey,
    IdempotencyRecord,
    UnitOfWork,
)
from taskflow_tasks.application.project_handlers import (
    create_project,
    delete_project,
    remove_member,
    set_member,
    update_project,
)
from taskflow_tasks.application.snapshots import task_from_data, task_to_data
from taskflow_tasks.domain.errors import DomainError, InvalidFields, PreconditionFailed
from taskflow_tasks.domain.model import Task

MAX_SUBTASK_DEPTH = 50
Result = TypeVar("Result")


@dataclass(frozen=True)
class BatchFailure:
    index: int
    op: str
    task_id: UUID
    error: DomainError


class BatchFailed(DomainError):
    def __init__(self, failures: list[BatchFailure]) -> None:
        self.failures = failures
        super().__init__(f"{len(failures)} operation(s) failed; nothing was applied")


class IdempotencyKeyReused(DomainError):
    """The same Idempotency-Key came with a different request body."""


# --- tasks -----------------------------------------------------------------------------


async def create_task(cmd: c.CreateTask, deps: Deps) -> CreatedTask:
    try:
        return await _create_task_once(cmd, deps)
    except DuplicateIdempotencyKey:
        # A concurrent retry with the same key won the race: answer what it answered.
        return await _create_task_once(cmd, deps)


async def _create_task_once(cmd: c.CreateTask, deps: Deps) -> CreatedTask:
    now = deps.clock()
    async with deps.uow() as uow:
        if cmd.idempotency_key is not None:
            record = await uow.idempotency.get(cmd.actor_id, cmd.idempotency_key)
            if record is not None:
                if record.fingerprint != cmd.fingerprint:
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was used with a different request body"
                    )
                return CreatedTask(task_from_data(record.response), replayed=True)
        values = dict(cmd.values)
        owner_id = cmd.actor_id
        parent_id = values.get("parent_id")
        if parent_id is not None:
            parent = await writable_task(uow, Actor.of(cmd), parent_id, field="parent_id")
            owner_id = parent.owner_id
            if "project_id" in values and values["project_id"] != parent.project_id:
                raise InvalidFields.one("project_id", "a subtask is in its parent's project")
            values["project_id"] = parent.project_id
        if values.get("project_id") is not None:
            await require_project_write(uow, Actor.of(cmd), values["project_id"])
        task = Task.create(owner_id=owner_id, actor_id=cmd.actor_id, now=now, **values)
        await _check_assignee(uow, task)
        await uow.tasks.add(task)
        if cmd.idempotency_key is not None and cmd.fingerprint is not None:
            await uow.idempotency.add(
                IdempotencyRecord(
                    user_id=cmd.actor_id,
                    key=cmd.idempotency_key,
                    fingerprint=cmd.fingerprint,
                    task_id=task.id,
                    response=task_to_data(task),
                    created_at=now,
                )
            )
        await uow.commit()
        return CreatedTask(task)


async def update_task(cmd: c.UpdateTask, deps: Deps) -> Task:
    async with deps.uow() as uow:
        task = await _update_in(
            uow, Actor.of(cmd), cmd.task_id, cmd.patch, cmd.expected_versions, deps.clock()
        )
        await uow.commit()
        return task


async def delete_task(cmd: c.DeleteTask, deps: Deps) -> None:
    async with deps.uow() as uow:
        task = await writable_task(uow, Actor.of(cmd), cmd.task_id)
        _check_precondition(task, cmd.expected_versions)
        task.delete(actor_id=cmd.actor_id, now=deps.clock())
        await uow.tasks.save(task)
        await uow.commit()


async def restore_task(cmd: c.RestoreTask, deps: Deps) -> Task:
    async with deps.uow() as uow:
        task = await writable_task(uow, Actor.of(cmd), cmd.task_id, include_deleted=True)
        if task.deleted_at is None:
            return task
        if task.parent_id is not None:
            parent = await uow.tasks.get(task.parent_id)
            if parent is None or parent.deleted_at is not None:
                raise InvalidFields.one("parent_id", "restore the parent task first")
        task.restore(actor_id=cmd.actor_id, now=deps.clock())
        await uow.tasks.save(task)
        await uow.commit()
        return task


async def batch_tasks(cmd: c.BatchTasks, deps: Deps) -> list[BatchResult]:
    """All operations or none: every failure is collected and reported, then rolled back."""
    now = deps.clock()
    results: list[BatchResult] = []
    failures: list[BatchFailure] = []
    actor = Actor.of(cmd)
    async with deps.uow() as uow:
        for index, op in enumerate(cmd.operations):
            try:
                if op.op == "update":
                    task = await _update_in(uow, actor, op.task_id, op.patch, None, now)
                    results.append(BatchResult("update", op.task_id, task))
                else:
                    task = await writable_task(uow, actor, op.task_id)
                    task.delete(actor_id=cmd.actor_id, now=now)
                    await uow.tasks.save(task)
                    results.append(BatchResult("delete", op.task_id, None))
            except DomainError as exc:
                failures.append(BatchFailure(index, op.op, op.task_id, exc))
        if failures:
            raise BatchFailed(failures)
        await uow.commit()
    return results


async def _update_in(
    uow: UnitOfWork,
    actor: Actor,
    task_id: UUID,
    patch: dict[str, Any],
    expected_versions: frozenset[int] | None,
    now: datetime,
) -> Task:
    task = await writable_task(uow, actor, task_id)
    _check_precondition(task, expected_versions)
    patch = dict(patch)
    if "parent_id" in patch and patch["parent_id"] != task.parent_id:
        await _check_new_parent(uow, actor, task, patch["parent_id"], patch)
    elif (
        "project_id" in patch
        and task.parent_id is not None
        and patch["project_id"] != task.project_id
    ):
        raise InvalidFields.one("project_id", "a subtask is in its parent's project")
    moving = "project_id" in patch and patch["project_id"] != task.project_id
    if moving and patch["project_id"] is not None:
        await require_project_write(uow, actor, patch["project_id"])
    spawned = task.apply(patch, actor_id=actor.id, now=now)
    await _check_assignee(uow, task)
    await uow.tasks.save(task)
    if spawned is not None:
        await uow.tasks.add(spawned)
    if moving:
        await _move_subtasks(uow, task, actor.id, now)
    return task


async def _check_new_parent(
    uow: UnitOfWork, actor: Actor, task: Task, parent_id: UUID | None, patch: dict[str, Any]
) -> None:
    if parent_id is None:
        return
    parent = await writable_task(uow, actor, parent_id, field="parent_id")
    if parent.owner_id != task.owner_id:
        raise InvalidFields.one("parent_id", "a subtask has its parent's owner")
    ancestor: Task | None = parent
    for _ in range(MAX_SUBTASK_DEPTH):
        if ancestor is None:
            break
        if ancestor.id == task.id:
            raise InvalidFields.one("parent_id", "a task cannot be its own ancestor")
        ancestor = await uow.tasks.get(ancestor.parent_id) if ancestor.parent_id else None
    else:
        raise InvalidFields.one("parent_id", f"subtasks nest at most {MAX_SUBTASK_DEPTH} deep")
    if "project_id" in patch and patch["project_id"] != parent.project_id:
        raise InvalidFields.one("project_id", "a subtask is in its parent's project")
    patch["project_id"] = parent.project_id


async def _move_subtasks(uow: UnitOfWork, parent: Task, actor_id: str, now: datetime) -> None:
    """Subtasks follow their parent into (or out of) a project."""
    pending = [parent]
    for _ in range(MAX_SUBTASK_DEPTH):
        if not pending:
            return
        current = pending.pop()
        for child in await uow.tasks.subtasks_of(current.id):
            patch: dict[str, Any] = {"project_id": parent.project_id}
            if child.assignee_id not in (None, child.owner_id):
                patch["assignee_id"] = None
            child.apply(patch, actor_id=actor_id, now=now)
            await uow.tasks.save(child)
            pending.append(child)


def _check_precondition(task: Task, expected_versions: frozenset[int] | None) -> None:
    if expected_versions is not None and task.version not in expected_versions:
        raise PreconditionFailed("the task changed since you read it; fetch it again")


async def _check_assignee(uow: UnitOfWork, task: Task) -> None:
    if task.assignee_id is None or task.assignee_id == task.owner_id:
        return
    if task.project_id is None:
        raise InvalidFields.one("assignee_id", "a personal task can only be assigned to its owner")
    if await uow.projects.role_of(task.project_id, task.assignee_id) is None:
        raise InvalidFields.one("assignee_id", "the assignee must be a member of the project")


Handler = Callable[[Any, Deps], Awaitable[Any]]

# Each handler takes its command and returns the command's result type (`Command[R]`); a
# unit test checks every pair's annotations, since a dict cannot say it to mypy.
HANDLERS: dict[type[c.Command[Any]], Handler] = {
    c.CreateTask: create_task,
    c.UpdateTask: update_task,
    c.DeleteTask: delete_task,
    c.RestoreTask: restore_task,
    c.BatchTasks: batch_tasks,
    c.CreateProject: create_project,
    c.UpdateProject: update_project,
    c.DeleteProject: delete_project,
    c.SetMember: set_member,
    c.RemoveMember: remove_member,
}


class CommandBus:
    """Routes a command to its handler with the dependencies the composition root gave."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def handle(self, command: c.Command[Result]) -> Result:
        return cast(Result, await HANDLERS[type(command)](command, self.deps))
