"""Commands: what a caller asks for, imperative. Values are already type-checked.

Each command names what handling it returns (`Command[R]`), so `CommandBus.handle` is typed
per command and callers need no casts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID

from taskflow_tasks.domain.model import Project, Task

R = TypeVar("R", covariant=True)


@dataclass(frozen=True)
class Command(Generic[R]):
    actor_id: str
    # Set only by the admin API, after verifying the administrators' realm role: the actor
    # passes the owner/member checks (access.py); every domain rule still applies.
    as_admin: bool = field(default=False, kw_only=True)


@dataclass(frozen=True)
class CreatedTask:
    task: Task
    replayed: bool = False  # answered from an earlier request with the same Idempotency-Key


@dataclass(frozen=True)
class BatchResult:
    op: str
    task_id: UUID
    task: Task | None  # None for a deletion


@dataclass(frozen=True)
class MemberSet:
    project: Project
    added: bool  # a new member (False: an existing member's role changed)


@dataclass(frozen=True)
class CreateTask(Command[CreatedTask]):
    values: dict[str, Any]
    idempotency_key: str | None = None
    fingerprint: str | None = None  # a digest of the request body, to tell replays apart


@dataclass(frozen=True)
class UpdateTask(Command[Task]):
    task_id: UUID
    patch: dict[str, Any]
    # None: no precondition. Otherwise the versions the caller's copy may have (If-Match).
    expected_versions: frozenset[int] | None = None


@dataclass(frozen=True)
class DeleteTask(Command[None]):
    task_id: UUID
    expected_versions: frozenset[int] | None = None


@dataclass(frozen=True)
class RestoreTask(Command[Task]):
    task_id: UUID


@dataclass(frozen=True)
class BatchOperation:
    op: Literal["update", "delete"]
    task_id: UUID
    patch: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchTasks(Command[list[BatchResult]]):
    operations: tuple[BatchOperation, ...]


@dataclass(frozen=True)
class CreateProject(Command[Project]):
    name: Any
    description: Any = ""


@dataclass(frozen=True)
class UpdateProject(Command[Project]):
    project_id: UUID
    patch: dict[str, Any]


@dataclass(frozen=True)
class DeleteProject(Command[None]):
    project_id: UUID


@dataclass(frozen=True)
class SetMember(Command[MemberSet]):
    project_id: UUID
    user_id: str
    role: str


@dataclass(frozen=True)
class RemoveMember(Command[None]):
    project_id: UUID
    user_id: str
