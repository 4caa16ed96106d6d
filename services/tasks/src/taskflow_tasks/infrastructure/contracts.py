"""Domain events to integration-event contracts (taskflow_common) and activity entries."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from taskflow_common.events import EventData
from taskflow_common.events.contracts import tasks as contracts
from taskflow_tasks.domain import events as e
from taskflow_tasks.domain.model import Project, Task


def task_snapshot(task: Task) -> contracts.TaskSnapshotV1:
    return contracts.TaskSnapshotV1(
        id=str(task.id),
        owner_id=task.owner_id,
        project_id=str(task.project_id) if task.project_id else None,
        assignee_id=task.assignee_id,
        parent_id=str(task.parent_id) if task.parent_id else None,
        title=task.title,
        description=task.description,
        status=task.status.value,
        priority=task.priority.value,
        labels=list(task.labels),
        due_at=task.due_at,
        start_at=task.start_at,
        completed_at=task.completed_at,
        version=task.version,
        created_at=task.created_at,
        updated_at=task.updated_at,
    )


def project_snapshot(project: Project) -> contracts.ProjectSnapshotV1:
    return contracts.ProjectSnapshotV1(
        id=str(project.id),
        owner_id=project.owner_id,
        name=project.name,
        description=project.description,
        version=project.version,
        created_at=project.created_at,
        updated_at=project.updated_at,
    )


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    return value


def changes_json(changes: dict[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    return {name: [jsonable(old), jsonable(new)] for name, (old, new) in changes.items()}


def to_contract(event: e.DomainEvent) -> EventData:
    match event:
        case e.TaskCreated(task=task):
            return contracts.TaskCreatedV1(task=task_snapshot(task))
        case e.TaskUpdated(task=task, changes=changes):
            return contracts.TaskUpdatedV1(
                task=task_snapshot(task),
                changed_fields=sorted(changes),
                changes=changes_json(changes),
            )
        case e.TaskCompleted(task=task, next_occurrence_id=next_id):
            return contracts.TaskCompletedV1(task=task_snapshot(task), next_occurrence_id=next_id)
        case e.TaskAssigned(task=task, previous_assignee_id=previous):
            return contracts.TaskAssignedV1(task=task_snapshot(task), previous_assignee_id=previous)
        case e.TaskDeleted(task=task):
            return contracts.TaskDeletedV1(task=task_snapshot(task))
        case e.TaskRestored(task=task):
            return contracts.TaskRestoredV1(task=task_snapshot(task))
        case e.TaskDueSoon(task=task, reminder=reminder, remind_at=remind_at):
            return contracts.TaskDueSoonV1(
                task=task_snapshot(task), reminder=reminder, remind_at=remind_at
            )
        case e.TaskOverdue(task=task):
            return contracts.TaskOverdueV1(task=task_snapshot(task))
        case e.ProjectCreated(project=project):
            return contracts.ProjectCreatedV1(project=project_snapshot(project))
        case e.ProjectUpdated(project=project, changed_fields=fields):
            return contracts.ProjectUpdatedV1(
                project=project_snapshot(project), changed_fields=list(fields)
            )
        case e.ProjectDeleted(project=project):
            return contracts.ProjectDeletedV1(project=project_snapshot(project))
        case e.MemberAdded(project_id=pid, user_id=uid, role=role, project_version=version):
            return contracts.ProjectMemberAddedV1(
                project_id=pid,
                user_id=uid,
                role=role,  # type: ignore[arg-type]
                project_version=version,
            )
        case e.MemberRemoved(project_id=pid, user_id=uid, project_version=version):
            return contracts.ProjectMemberRemovedV1(
                project_id=pid, user_id=uid, project_version=version
            )
    raise TypeError(f"no contract for {type(event).__name__}")


def activity_entry(event: e.DomainEvent) -> tuple[UUID, str, dict[str, list[Any]]] | None:
    """(task id, action, changes) for the task's activity log, or None if not user-visible."""
    match event:
        case e.TaskCreated(task=task):
            return task.id, "created", {}
        case e.TaskUpdated(task=task, changes=changes):
            completed = "status" in changes and changes["status"][1] == "done"
            return task.id, "completed" if completed else "updated", changes_json(changes)
        case e.TaskDeleted(task=task):
            return task.id, "deleted", {}
        case e.TaskRestored(task=task):
            return task.id, "restored", {}
    return None
