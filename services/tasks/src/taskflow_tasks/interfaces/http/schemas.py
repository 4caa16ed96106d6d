"""Request and response bodies. Requests refuse unknown fields; rules live in the domain."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import to_json

from taskflow_common.ids import is_canonical_uuid
from taskflow_tasks.application.queries import ProjectView
from taskflow_tasks.domain.model import Task

StatusName = Literal["todo", "in_progress", "done", "cancelled"]
PriorityName = Literal["none", "low", "medium", "high", "urgent"]
RoleName = Literal["viewer", "editor", "owner"]
# Generous caps so absurd payloads are refused by the parser; the domain owns the real limits.


def storable_text(value: str) -> str:
    """Postgres text holds neither NUL nor lone surrogates: refuse them here (a 422), not there."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


Text = Annotated[str, AfterValidator(storable_text)]


def user_id_text(value: str) -> str:
    """User ids are Keycloak's canonical UUIDs; anything else would name no one (and would
    travel into the identity provider's admin URLs downstream)."""
    if not is_canonical_uuid(value):
        raise ValueError("must be a user id (a lowercase canonical UUID)")
    return value


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def rfc3339_text(value: Any) -> Any:
    """Date-times are RFC 3339 strings, as documented. Pydantic's lax mode also reads a number
    (or a numeric string such as `0.5`) as Unix seconds: a client sending one has most likely
    sent something else by mistake, and gets a 422 instead of a filter it did not mean."""
    if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("must be an RFC 3339 date-time with a time zone, not a number")
    return value


# A date-time with a time zone, written as text (RFC 3339).
DateTime = Annotated[AwareDatetime, BeforeValidator(rfc3339_text)]


# A JSON number: lax mode would also read true and false as 1.0 and 0.0 (a schema violation
# accepted, which the contract tests catch); integers are numbers and stay accepted.
Number = Annotated[float, Field(strict=True)]

UserId = Annotated[str, Field(max_length=36), AfterValidator(user_id_text)]
ShortText = Annotated[str, Field(max_length=1_000), AfterValidator(storable_text)]
LongText = Annotated[str, Field(max_length=20_000), AfterValidator(storable_text)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TaskCreate(_Input):
    title: ShortText
    description: LongText | None = None
    status: StatusName | None = None
    priority: PriorityName | None = None
    due_at: DateTime | None = None
    start_at: DateTime | None = None
    labels: Annotated[list[ShortText], Field(max_length=100)] | None = None
    project_id: UUID | None = None
    assignee_id: ShortText | None = None
    parent_id: UUID | None = None
    recurrence: ShortText | None = None
    reminders: (
        Annotated[list[Annotated[Text, Field(max_length=64)]], Field(max_length=50)] | None
    ) = None
    position: Number | None = None


class TaskUpdate(TaskCreate):
    """A JSON merge patch (RFC 7396): absent keys stay, null clears."""

    title: ShortText | None = None  # type: ignore[assignment]


def to_values(body: TaskCreate, *, patch: bool) -> dict[str, Any]:
    """The fields the caller sent, with merge-patch nulls turned into empty values."""
    values: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name in ("labels", "reminders"):
            value = ()
        elif value is None and name == "description":
            value = ""
        elif value is None and not patch and name in ("status", "priority", "position"):
            continue
        values[name] = value
    return values


class TaskPublic(BaseModel):
    id: UUID
    title: str
    description: str
    status: StatusName
    priority: PriorityName
    due_at: AwareDatetime | None
    start_at: AwareDatetime | None
    completed_at: AwareDatetime | None
    labels: list[str]
    project_id: UUID | None
    assignee_id: str | None
    parent_id: UUID | None
    owner_id: str
    recurrence: str | None
    reminders: list[str]
    position: float
    version: int
    created_at: AwareDatetime
    updated_at: AwareDatetime
    deleted_at: AwareDatetime | None = None


class TaskList(BaseModel):
    data: list[TaskPublic]
    next_cursor: str | None


def task_dict(task: Task) -> dict[str, Any]:
    """TaskPublic's shape as a plain dict: serialised once by pydantic-core, not validated."""
    return {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "status": task.status.value,
        "priority": task.priority.value,
        "due_at": task.due_at,
        "start_at": task.start_at,
        "completed_at": task.completed_at,
        "labels": list(task.labels),
        "project_id": task.project_id,
        "assignee_id": task.assignee_id,
        "parent_id": task.parent_id,
        "owner_id": task.owner_id,
        "recurrence": task.recurrence,
        "reminders": list(task.reminders),
        "position": task.position,
        "version": task.version,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "deleted_at": task.deleted_at,
    }


def dump(value: Any) -> bytes:
    return to_json(value)


class BatchOperationIn(_Input):
    op: Literal["update", "delete"]
    id: UUID
    patch: TaskUpdate | None = None


class BatchRequest(_Input):
    operations: Annotated[list[BatchOperationIn], Field(min_length=1, max_length=100)]


class ProjectCreate(_Input):
    name: ShortText
    description: LongText | None = None


class ProjectUpdate(_Input):
    name: ShortText | None = None
    description: LongText | None = None


class MemberIn(_Input):
    user_id: UserId
    role: RoleName


class MemberPublic(BaseModel):
    user_id: str
    role: RoleName


class ProjectPublic(BaseModel):
    id: UUID
    name: str
    description: str
    owner_id: str
    my_role: RoleName
    members: list[MemberPublic]
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ProjectList(BaseModel):
    data: list[ProjectPublic]
    next_cursor: str | None


def project_dict(view: ProjectView) -> dict[str, Any]:
    p = view.project
    return {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "owner_id": p.owner_id,
        "my_role": view.my_role.value,
        "members": [{"user_id": u, "role": r.value} for u, r in sorted(p.members.items())],
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


class LabelCountPublic(BaseModel):
    label: str
    count: int


class ActivityPublic(BaseModel):
    actor_id: str
    at: AwareDatetime
    action: str
    changes: dict[str, list[Any]]
