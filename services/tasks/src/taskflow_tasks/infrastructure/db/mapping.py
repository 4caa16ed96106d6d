"""Rows to aggregates and back (hand-written: no ORM identity map on the hot path)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskflow_tasks.domain.model import Priority, Project, Role, Status, Task, label_key


def task_from_row(row: Mapping[Any, Any]) -> Task:
    return Task(
        id=row["id"],
        owner_id=row["owner_id"],
        title=row["title"],
        description=row["description"],
        status=Status(row["status"]),
        priority=Priority.from_rank(row["priority"]),
        due_at=row["due_at"],
        start_at=row["start_at"],
        completed_at=row["completed_at"],
        labels=tuple(row["labels"]),
        project_id=row["project_id"],
        assignee_id=row["assignee_id"],
        parent_id=row["parent_id"],
        recurrence=row["recurrence"],
        reminders=tuple(row["reminders"]),
        position=row["position"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
        series_start=row["series_start"],
        next_occurrence_id=row["next_occurrence_id"],
    )


def task_to_row(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "owner_id": task.owner_id,
        "title": task.title,
        "description": task.description,
        "status": task.status.value,
        "priority": task.priority.rank,
        "due_at": task.due_at,
        "start_at": task.start_at,
        "completed_at": task.completed_at,
        "labels": list(task.labels),
        "label_keys": [label_key(label) for label in task.labels],
        "project_id": task.project_id,
        "assignee_id": task.assignee_id,
        "parent_id": task.parent_id,
        "recurrence": task.recurrence,
        "reminders": list(task.reminders),
        "position": task.position,
        "version": task.version,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "deleted_at": task.deleted_at,
        "series_start": task.series_start,
        "next_occurrence_id": task.next_occurrence_id,
    }


def project_from_row(row: Mapping[Any, Any], members: Mapping[str, str]) -> Project:
    return Project(
        id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        description=row["description"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        members={user: Role(role) for user, role in members.items()},
    )


def project_to_row(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "owner_id": project.owner_id,
        "name": project.name,
        "description": project.description,
        "version": project.version,
        "created_at": project.created_at,
        "updated_at": project.updated_at,
    }
