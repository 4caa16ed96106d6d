"""Ports: what the use cases need from the outside world, as Protocols."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import UUID

from taskflow_tasks.domain.events import DomainEvent
from taskflow_tasks.domain.model import Project, Role, Task


class TaskRepository(Protocol):
    async def add(self, task: Task) -> None: ...

    async def get(self, task_id: UUID) -> Task | None:
        """The task (deleted or not), locked for update where the database can."""
        ...

    async def save(self, task: Task) -> None: ...

    async def subtasks_of(self, task_id: UUID) -> Sequence[Task]: ...

    async def in_project(self, project_id: UUID) -> Sequence[Task]: ...

    @property
    def seen(self) -> Sequence[Task]: ...


class ProjectRepository(Protocol):
    async def add(self, project: Project) -> None: ...

    async def get(self, project_id: UUID) -> Project | None: ...

    async def save(self, project: Project) -> None: ...

    async def delete(self, project: Project) -> None: ...

    async def role_of(self, project_id: UUID, user_id: str) -> Role | None: ...

    @property
    def seen(self) -> Sequence[Project]: ...


@dataclass(frozen=True)
class IdempotencyRecord:
    user_id: str
    key: str
    fingerprint: str
    task_id: UUID
    response: dict[str, Any]  # the created task as first answered
    created_at: datetime


class IdempotencyStore(Protocol):
    async def get(self, user_id: str, key: str) -> IdempotencyRecord | None: ...

    async def add(self, record: IdempotencyRecord) -> None: ...


class UnitOfWork(Protocol):
    """One transaction. Rolls back unless committed; commit also writes the outbox rows
    (and activity entries) for every event the touched aggregates recorded."""

    tasks: TaskRepository
    projects: ProjectRepository
    idempotency: IdempotencyStore

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def record(self, event: DomainEvent) -> None:
        """An event not owned by a loaded aggregate (e.g. a reminder that fired)."""
        ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class DuplicateIdempotencyKey(Exception):
    """Another request with the same key committed first (a race between two retries)."""
