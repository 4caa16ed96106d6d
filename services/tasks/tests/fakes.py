"""In-memory fakes of the application ports, for handler unit tests (no I/O)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from types import TracebackType
from typing import Self
from uuid import UUID

from taskflow_tasks.application.ports import DuplicateIdempotencyKey, IdempotencyRecord
from taskflow_tasks.domain.events import DomainEvent
from taskflow_tasks.domain.model import Project, Role, Task


class FakeStore:
    """What a database would hold; shared by the units of work of one test."""

    def __init__(self) -> None:
        self.tasks: dict[UUID, Task] = {}
        self.projects: dict[UUID, Project] = {}
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.outbox: list[DomainEvent] = []


class FakeTaskRepository:
    def __init__(self, store: dict[UUID, Task]) -> None:
        self._store = store
        self._seen: dict[UUID, Task] = {}

    @property
    def seen(self) -> Sequence[Task]:
        return list(self._seen.values())

    async def add(self, task: Task) -> None:
        self._seen[task.id] = task

    async def get(self, task_id: UUID) -> Task | None:
        if task_id not in self._seen and task_id in self._store:
            self._seen[task_id] = copy.deepcopy(self._store[task_id])
        return self._seen.get(task_id)

    async def save(self, task: Task) -> None:
        self._seen[task.id] = task

    async def subtasks_of(self, task_id: UUID) -> Sequence[Task]:
        ids = [t.id for t in self._store.values() if t.parent_id == task_id]
        return [t for i in ids if (t := await self.get(i)) is not None]

    async def in_project(self, project_id: UUID) -> Sequence[Task]:
        ids = [t.id for t in self._store.values() if t.project_id == project_id]
        return [t for i in ids if (t := await self.get(i)) is not None]


class FakeProjectRepository:
    def __init__(self, store: dict[UUID, Project]) -> None:
        self._store = store
        self._seen: dict[UUID, Project] = {}
        self.deleted: list[Project] = []

    @property
    def seen(self) -> Sequence[Project]:
        return [*self._seen.values(), *self.deleted]

    async def add(self, project: Project) -> None:
        self._seen[project.id] = project

    async def get(self, project_id: UUID) -> Project | None:
        if project_id not in self._seen and project_id in self._store:
            self._seen[project_id] = copy.deepcopy(self._store[project_id])
        return self._seen.get(project_id)

    async def save(self, project: Project) -> None:
        self._seen[project.id] = project

    async def delete(self, project: Project) -> None:
        self._seen.pop(project.id, None)
        self.deleted.append(project)

    async def role_of(self, project_id: UUID, user_id: str) -> Role | None:
        project = await self.get(project_id)
        return project.role_of(user_id) if project else None


class FakeIdempotencyStore:
    def __init__(self, store: dict[tuple[str, str], IdempotencyRecord]) -> None:
        self._store = store
        self.pending: list[IdempotencyRecord] = []

    async def get(self, user_id: str, key: str) -> IdempotencyRecord | None:
        return self._store.get((user_id, key))

    async def add(self, record: IdempotencyRecord) -> None:
        if (record.user_id, record.key) in self._store:
            raise DuplicateIdempotencyKey(record.key)
        self.pending.append(record)


class FakeUnitOfWork:
    """Changes reach the store only on commit, with the events as the 'outbox'."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.committed = False

    async def __aenter__(self) -> Self:
        self.tasks = FakeTaskRepository(self.store.tasks)
        self.projects = FakeProjectRepository(self.store.projects)
        self.idempotency = FakeIdempotencyStore(self.store.idempotency)
        self._recorded: list[DomainEvent] = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def record(self, event: DomainEvent) -> None:
        self._recorded.append(event)

    async def commit(self) -> None:
        for task in self.tasks.seen:
            self.store.outbox.extend(task.events)
            task.events.clear()
            self.store.tasks[task.id] = copy.deepcopy(task)
        for project in self.projects.seen:
            self.store.outbox.extend(project.events)
            project.events.clear()
            self.store.projects[project.id] = copy.deepcopy(project)
        for project in self.projects.deleted:
            self.store.projects.pop(project.id, None)
        for record in self.idempotency.pending:
            self.store.idempotency[(record.user_id, record.key)] = record
        self.store.outbox.extend(self._recorded)
        self.committed = True

    async def rollback(self) -> None:
        await self.__aenter__()  # nothing reached the store; forget what was loaded
