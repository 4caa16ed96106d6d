"""What the write side remembers within one transaction: identity maps (a task loaded twice is
one object, so no change is lost) and the reminder bookkeeping that spares a save its
reminder statements when nothing they depend on changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from taskflow_tasks.domain.model import Project, Task
from taskflow_tasks.domain.reminders import fire_times
from taskflow_tasks.infrastructure.db.mapping import task_from_row, task_to_row


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
    """What a task repository remembers within one transaction.

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
    """What a project repository remembers within one transaction:
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
