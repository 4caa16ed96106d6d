"""A task as plain JSON-able data (for idempotent replays) and back."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from taskflow_tasks.domain.model import Priority, Status, Task

_DATES = (
    "due_at",
    "start_at",
    "completed_at",
    "created_at",
    "updated_at",
    "deleted_at",
    "series_start",
)
_IDS = ("id", "project_id", "parent_id", "next_occurrence_id")


def task_to_data(task: Task) -> dict[str, Any]:
    data: dict[str, Any] = {
        "owner_id": task.owner_id,
        "title": task.title,
        "description": task.description,
        "status": task.status.value,
        "priority": task.priority.value,
        "labels": list(task.labels),
        "assignee_id": task.assignee_id,
        "recurrence": task.recurrence,
        "reminders": list(task.reminders),
        "position": task.position,
        "version": task.version,
    }
    for name in _DATES:
        value = getattr(task, name)
        data[name] = value.isoformat() if value is not None else None
    for name in _IDS:
        value = getattr(task, name)
        data[name] = str(value) if value is not None else None
    return data


def task_from_data(data: dict[str, Any]) -> Task:
    values: dict[str, Any] = dict(data)
    for name in _DATES:
        raw = values.get(name)
        values[name] = datetime.fromisoformat(raw) if raw else None
    for name in _IDS:
        raw = values.get(name)
        values[name] = UUID(raw) if raw else None
    values["status"] = Status(values["status"])
    values["priority"] = Priority(values["priority"])
    values["labels"] = tuple(values["labels"])
    values["reminders"] = tuple(values["reminders"])
    return Task(**values)
