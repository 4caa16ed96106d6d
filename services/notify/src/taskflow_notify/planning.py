"""Who hears about an event, and what they are told. Pure: no Django, no I/O.

The caller supplies the project's audience (owner and members, from the membership read model).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from taskflow_common.events.contracts.suggest import PrioritySuggestedV1
from taskflow_common.events.contracts.tasks import (
    TaskAssignedV1,
    TaskCompletedV1,
    TaskCreatedV1,
    TaskDeletedV1,
    TaskDueSoonV1,
    TaskOverdueV1,
    TaskRestoredV1,
    TaskSnapshotV1,
    TaskUpdatedV1,
)
from taskflow_common.events.envelope import EventData
from taskflow_notify.kinds import Kind


@dataclass(frozen=True)
class PlannedNotification:
    user_id: str
    kind: Kind
    title: str
    body: str
    data: dict[str, Any]


@dataclass(frozen=True)
class TaskChange:
    """A live `task.changed` frame and everyone who can see the task."""

    change: str  # created | updated | deleted
    task: dict[str, Any]
    audience: frozenset[str]
    changed_fields: tuple[str, ...] | None = None  # for updates: which fields changed
    # Who could see the task before this change and no longer can (told it left their view).
    lost_sight: frozenset[str] = frozenset()


@dataclass(frozen=True)
class EventPlan:
    notifications: list[PlannedNotification] = field(default_factory=list)
    task_change: TaskChange | None = None


_CHANGES: dict[type[EventData], str] = {
    TaskCreatedV1: "created",
    TaskUpdatedV1: "updated",
    TaskDeletedV1: "deleted",
    TaskRestoredV1: "created",  # back from the trash: it appears again for its audience
}


def task_audience(task: TaskSnapshotV1, project_audience: Set[str]) -> frozenset[str]:
    """Everyone who can see a task: its owner, its assignee, and its project's people."""
    people = {task.owner_id, *project_audience}
    if task.assignee_id:
        people.add(task.assignee_id)
    return frozenset(people)


def project_id_of(data: EventData) -> str | None:
    task = getattr(data, "task", None)
    if isinstance(task, TaskSnapshotV1):
        return task.project_id
    return getattr(data, "project_id", None)


def plan_event(data: EventData, *, actor: str, project_audience: Set[str]) -> EventPlan:
    """The notifications and live frame one event yields (actors are not told of their own acts)."""
    change = _CHANGES.get(type(data))
    task_change = None
    if change is not None:
        task = data.task  # type: ignore[attr-defined]
        audience = task_audience(task, project_audience)
        task_change = TaskChange(
            change=change,
            task=task.model_dump(mode="json"),
            audience=audience,
            changed_fields=(
                tuple(data.changed_fields) if isinstance(data, TaskUpdatedV1) else None
            ),
            lost_sight=_former_assignee(data) - audience,
        )
    return EventPlan(
        notifications=_notifications(data, actor, project_audience), task_change=task_change
    )


def _former_assignee(data: EventData) -> frozenset[str]:
    """The assignee an update took off the task (project membership changes are told apart,
    as `access.changed` frames, by the membership read model)."""
    if not isinstance(data, TaskUpdatedV1):
        return frozenset()
    before = (data.changes.get("assignee_id") or [None])[0]
    return frozenset({before}) if isinstance(before, str) and before else frozenset()


def _notifications(
    data: EventData, actor: str, project_audience: Set[str]
) -> list[PlannedNotification]:
    if isinstance(data, TaskAssignedV1):
        # The tasks service emits `assigned` whenever a task gets an assignee, on creation
        # too (after `created`): that one event is the news, so `created` notifies nobody.
        task = data.task
        if not task.assignee_id or task.assignee_id == actor:
            return []
        return [
            _about(
                task,
                task.assignee_id,
                Kind.TASK_ASSIGNED,
                f'"{task.title}" was assigned to you',
                _due_line(task),
            )
        ]
    if isinstance(data, TaskDueSoonV1):
        task = data.task
        return [
            _about(task, user, Kind.TASK_DUE_SOON, f'"{task.title}" is due soon', _due_line(task))
            for user in _owner_and_assignee(task)
        ]
    if isinstance(data, TaskOverdueV1):
        task = data.task
        return [
            _about(task, user, Kind.TASK_OVERDUE, f'"{task.title}" is overdue', _due_line(task))
            for user in _owner_and_assignee(task)
        ]
    if isinstance(data, TaskCompletedV1):
        task = data.task
        if task.project_id is None:
            return []  # completion is news only in shared projects
        people = sorted(task_audience(task, project_audience) - {actor})
        return [
            _about(task, user, Kind.TASK_COMPLETED, f'"{task.title}" was completed', "")
            for user in people
        ]
    if isinstance(data, PrioritySuggestedV1):
        return [
            PlannedNotification(
                user_id=data.owner_id,
                kind=Kind.PRIORITY_SUGGESTED,
                title=f"Suggested priority: {data.priority}",
                body=data.rationale,
                data={
                    "task_id": data.task_id,
                    "suggestion_id": data.suggestion_id,
                    "priority": data.priority,
                    "confidence": data.confidence,
                    "source": data.source,
                },
            )
        ]
    return []


def _owner_and_assignee(task: TaskSnapshotV1) -> list[str]:
    return sorted({task.owner_id, *([task.assignee_id] if task.assignee_id else [])})


def _due_line(task: TaskSnapshotV1) -> str:
    return f"Due {task.due_at.isoformat()}" if task.due_at else ""


def _about(
    task: TaskSnapshotV1, user: str, kind: Kind, title: str, body: str
) -> PlannedNotification:
    return PlannedNotification(
        user_id=user,
        kind=kind,
        title=title,
        body=body,
        data={
            "task_id": task.id,
            "task_title": task.title,
            "project_id": task.project_id,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "priority": task.priority,
            "status": task.status,
        },
    )
