"""Bodies of the admin API (/api/v1/admin/*): the list envelope, bulk actions, the stats."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from taskflow_tasks.interfaces.http.schemas import PriorityName, ShortText, TaskPublic, _Input

BULK_MAX_IDS = 500
BulkAction = Literal["set_priority", "reassign", "complete", "trash", "restore"]


class AdminTaskList(BaseModel):
    data: list[TaskPublic]
    next_cursor: str | None
    total: int


class AdminBulkRequest(_Input):
    ids: Annotated[list[UUID], Field(min_length=1, max_length=BULK_MAX_IDS)]
    action: BulkAction
    priority: PriorityName | None = None
    # reassign: the new assignee; null unassigns (the key must be sent).
    assignee_id: ShortText | None = None

    @model_validator(mode="after")
    def _arguments_match_the_action(self) -> Self:
        if self.action == "set_priority" and self.priority is None:
            raise ValueError("set_priority needs a priority")
        if self.action == "reassign" and "assignee_id" not in self.model_fields_set:
            raise ValueError("reassign needs an assignee_id (null to unassign)")
        if self.action != "set_priority" and self.priority is not None:
            raise ValueError("priority goes with set_priority only")
        if self.action != "reassign" and "assignee_id" in self.model_fields_set:
            raise ValueError("assignee_id goes with reassign only")
        return self


class BulkProblem(BaseModel):
    type: str
    title: str
    status: int
    detail: str | None = None


class BulkItemResult(BaseModel):
    id: UUID
    ok: bool
    problem: BulkProblem | None = None


class AdminBulkResult(BaseModel):
    data: list[BulkItemResult]


class DayCountPublic(BaseModel):
    date: date
    created: int
    completed: int


class AdminTaskStats(BaseModel):
    by_status: dict[str, int]
    by_priority: dict[str, int]
    overdue: int
    per_day: list[DayCountPublic]
