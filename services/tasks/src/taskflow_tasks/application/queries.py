"""The read side: list filters, keyset cursors, and the TaskQueries/ProjectQueries ports."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from taskflow_tasks.domain.errors import DomainError
from taskflow_tasks.domain.model import Priority, Project, Role, Status, Task

SortField = Literal["due_at", "priority", "created_at", "updated_at"]
SORT_FIELDS: tuple[SortField, ...] = ("due_at", "priority", "created_at", "updated_at")
DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class InvalidCursor(DomainError):
    """The cursor was not issued by us for this sort order (a 400)."""


# The fields each kind of cursor carries: sort, sort value, row id; the projects list: order, id.
_TASK_CURSOR_KEYS = frozenset({"s", "v", "i"})
_PROJECT_CURSOR_KEYS = frozenset({"s", "i"})


@dataclass(frozen=True)
class Sort:
    field: SortField = "created_at"
    descending: bool = False

    @classmethod
    def parse(cls, text: str) -> Sort:
        descending = text.startswith("-")
        name = text.removeprefix("-")
        if name not in SORT_FIELDS:
            raise ValueError(f"sort must be one of {', '.join(SORT_FIELDS)}, optionally with '-'")
        return cls(name, descending)

    def __str__(self) -> str:
        return ("-" if self.descending else "") + self.field


def _encode_cursor(fields: dict[str, Any]) -> str:
    """JSON, then URL-safe base64 without padding: opaque to clients (ADRs 0101, 0108)."""
    raw = json.dumps(fields)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(text: str, keys: frozenset[str]) -> tuple[dict[str, Any], UUID]:
    """The fields of a cursor we issued, which has exactly `keys`, and its row id ("i").

    Checked by shape rather than by catching everything: UUID() of a non-string raises
    AttributeError, which would otherwise escape as a 500.
    """
    try:
        padded = text + "=" * (-len(text) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise InvalidCursor("the cursor is not one this API issued") from exc
    if not isinstance(data, dict) or set(data) != keys or not isinstance(data["i"], str):
        raise InvalidCursor("the cursor is not one this API issued")
    try:
        return data, UUID(data["i"])
    except ValueError as exc:
        raise InvalidCursor("the cursor is not one this API issued") from exc


@dataclass(frozen=True)
class Cursor:
    """The position after the last row of a page: its sort value (None sorts last) and id."""

    sort: str
    value: Any  # ISO datetime string, a priority rank, or None
    last_id: UUID

    def encode(self) -> str:
        return _encode_cursor({"s": self.sort, "v": self.value, "i": str(self.last_id)})

    @classmethod
    def decode(cls, text: str, sort: Sort) -> Cursor:
        data, last_id = _decode_cursor(text, _TASK_CURSOR_KEYS)
        cursor = cls(sort=data["s"], value=data["v"], last_id=last_id)
        if cursor.sort != str(sort):
            raise InvalidCursor("the cursor belongs to another sort order")
        if cursor.value is not None:
            cls._check_value(cursor.value, sort)
        return cursor

    @staticmethod
    def _check_value(value: Any, sort: Sort) -> None:
        if sort.field == "priority":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 4:
                raise InvalidCursor("the cursor is not one this API issued")
            return
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None or parsed.utcoffset() or not 1900 <= parsed.year <= 9000:
                raise ValueError("not a UTC timestamp we issue")
        except (TypeError, ValueError) as exc:
            raise InvalidCursor("the cursor is not one this API issued") from exc

    @classmethod
    def after(cls, task: Task, sort: Sort) -> Cursor:
        value: Any
        if sort.field == "priority":
            value = task.priority.rank
        else:
            moment: datetime | None = getattr(task, sort.field)
            value = moment.isoformat() if moment is not None else None
        return cls(str(sort), value, task.id)


@dataclass(frozen=True)
class TaskListQuery:
    statuses: tuple[Status, ...] = ()
    priorities: tuple[Priority, ...] = ()
    labels: tuple[str, ...] = ()
    project_id: UUID | None = None
    assignee_id: str | None = None
    parent_id: UUID | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None
    text: str | None = None
    deleted: bool = False
    sort: Sort = field(default_factory=Sort)
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None


@dataclass(frozen=True)
class Page:
    items: Sequence[Task]
    next_cursor: str | None


@dataclass(frozen=True)
class LabelCount:
    label: str
    count: int


@dataclass(frozen=True)
class ActivityEntry:
    actor_id: str
    at: datetime
    action: str
    changes: dict[str, list[Any]]


@dataclass(frozen=True)
class ProjectView:
    project: Project
    my_role: Role


# The projects list has a single order, by id: ids are UUIDv7, so that is creation order, and
# the caller's page is read straight off the (user_id, project_id) membership index.
PROJECT_ORDER = "id"


@dataclass(frozen=True)
class ProjectCursor:
    """The position after the last project of a page: `{"s": "id", "i": id}`, JSON then
    URL-safe base64 like the tasks cursor (ADRs 0101, 0108). A tasks cursor is refused here,
    and a projects cursor by the tasks list (it has no "v")."""

    last_id: UUID

    def encode(self) -> str:
        return _encode_cursor({"s": PROJECT_ORDER, "i": str(self.last_id)})

    @classmethod
    def decode(cls, text: str) -> ProjectCursor:
        data, last_id = _decode_cursor(text, _PROJECT_CURSOR_KEYS)
        if data["s"] != PROJECT_ORDER:
            raise InvalidCursor("the cursor belongs to another list")
        return cls(last_id)


@dataclass(frozen=True)
class ProjectListQuery:
    limit: int = DEFAULT_LIMIT
    cursor: ProjectCursor | None = None


@dataclass(frozen=True)
class ProjectPage:
    items: Sequence[ProjectView]
    next_cursor: str | None


class TaskQueries(Protocol):
    async def get_visible(self, user_id: str, task_id: UUID) -> Task | None:
        """A live task the user may see (own, or in a project they belong to)."""
        ...

    async def list_visible(self, user_id: str, query: TaskListQuery) -> Page: ...

    async def labels(self, user_id: str) -> Sequence[LabelCount]: ...

    async def activity(self, user_id: str, task_id: UUID) -> Sequence[ActivityEntry] | None:
        """None when the user may not see the task."""
        ...

    async def export(self, user_id: str, limit: int) -> Sequence[Task]: ...


class ProjectQueries(Protocol):
    async def get_visible(self, user_id: str, project_id: UUID) -> ProjectView | None: ...

    async def list_visible(self, user_id: str, query: ProjectListQuery) -> ProjectPage:
        """One page of the projects the user is a member of, in id order."""
        ...
