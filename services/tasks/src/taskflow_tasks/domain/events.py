"""Domain events: what happened, past tense. The unit of work turns them into outbox rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskflow_tasks.domain.model import Project, Task


@dataclass(frozen=True)
class DomainEvent:
    actor_id: str
    at: datetime


@dataclass(frozen=True)
class TaskCreated(DomainEvent):
    task: Task


@dataclass(frozen=True)
class TaskUpdated(DomainEvent):
    task: Task
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskCompleted(DomainEvent):
    task: Task
    next_occurrence_id: str | None = None


@dataclass(frozen=True)
class TaskAssigned(DomainEvent):
    task: Task
    previous_assignee_id: str | None


@dataclass(frozen=True)
class TaskDeleted(DomainEvent):
    task: Task


@dataclass(frozen=True)
class TaskRestored(DomainEvent):
    task: Task


@dataclass(frozen=True)
class TaskDueSoon(DomainEvent):
    task: Task
    reminder: str
    remind_at: datetime


@dataclass(frozen=True)
class TaskOverdue(DomainEvent):
    task: Task


@dataclass(frozen=True)
class ProjectCreated(DomainEvent):
    project: Project


@dataclass(frozen=True)
class ProjectUpdated(DomainEvent):
    project: Project
    changed_fields: tuple[str, ...]


@dataclass(frozen=True)
class ProjectDeleted(DomainEvent):
    project: Project


@dataclass(frozen=True)
class MemberAdded(DomainEvent):
    project_id: str
    user_id: str
    role: str
    project_version: int  # the project's version after this change: orders membership events


@dataclass(frozen=True)
class MemberRemoved(DomainEvent):
    project_id: str
    user_id: str
    project_version: int
