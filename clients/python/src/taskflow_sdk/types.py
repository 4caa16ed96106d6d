"""What the clients return beyond the generated models: tasks that know their ETag, pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypedDict, TypeVar

import httpx
from pydantic import PrivateAttr

from taskflow_sdk.models import TaskPublic

T = TypeVar("T")

Status = Literal["todo", "in_progress", "done", "cancelled"]
Priority = Literal["none", "low", "medium", "high", "urgent"]


class Task(TaskPublic):
    """A task as the API answered it, with the ETag that answer carried (None from a list)."""

    _etag: str | None = PrivateAttr(default=None)

    @property
    def etag(self) -> str | None:
        return self._etag

    @classmethod
    def from_response(cls, response: httpx.Response) -> Task:
        task = cls.model_validate_json(response.content)
        task._etag = response.headers.get("etag")
        return task


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a cursor-paged list; `next_cursor` is None on the last page."""

    items: list[T]
    next_cursor: str | None


class TaskFields(TypedDict, total=False):
    """The writable fields of a task (create and update)."""

    title: str
    description: str | None
    status: Status | None
    priority: Priority | None
    due_at: datetime | None
    start_at: datetime | None
    labels: list[str] | None
    project_id: str | None
    assignee_id: str | None
    parent_id: str | None
    recurrence: str | None
    reminders: list[str] | None
    position: float | None


class TaskFilters(TypedDict, total=False):
    """The filters and order of the task list."""

    status: list[Status]
    priority: list[Priority]
    label: list[str]
    project_id: str
    assignee_id: str
    parent_id: str
    due_before: datetime
    due_after: datetime
    overdue: bool
    q: str
    deleted: bool
    sort: str
    limit: int
