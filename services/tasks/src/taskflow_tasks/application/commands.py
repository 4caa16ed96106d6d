"""Commands: what a caller asks for, imperative. Values are already type-checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID


@dataclass(frozen=True)
class Command:
    actor_id: str


@dataclass(frozen=True)
class CreateTask(Command):
    values: dict[str, Any]
    idempotency_key: str | None = None
    fingerprint: str | None = None  # a digest of the request body, to tell replays apart


@dataclass(frozen=True)
class UpdateTask(Command):
    task_id: UUID
    patch: dict[str, Any]
    # None: no precondition. Otherwise the versions the caller's copy may have (If-Match).
    expected_versions: frozenset[int] | None = None


@dataclass(frozen=True)
class DeleteTask(Command):
    task_id: UUID
    expected_versions: frozenset[int] | None = None


@dataclass(frozen=True)
class RestoreTask(Command):
    task_id: UUID


@dataclass(frozen=True)
class BatchOperation:
    op: Literal["update", "delete"]
    task_id: UUID
    patch: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchTasks(Command):
    operations: tuple[BatchOperation, ...]


@dataclass(frozen=True)
class CreateProject(Command):
    name: Any
    description: Any = ""


@dataclass(frozen=True)
class UpdateProject(Command):
    project_id: UUID
    patch: dict[str, Any]


@dataclass(frozen=True)
class DeleteProject(Command):
    project_id: UUID


@dataclass(frozen=True)
class SetMember(Command):
    project_id: UUID
    user_id: str
    role: str


@dataclass(frozen=True)
class RemoveMember(Command):
    project_id: UUID
    user_id: str
