"""Request and response bodies of the HTTP API (never the ORM tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

from taskflow_suggest.domain.model import Suggestion
from taskflow_suggest.domain.plan import PlanItem

PriorityName = Literal["none", "low", "medium", "high", "urgent"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class PriorityRequest(BaseModel):
    """Either an existing task (`task_id`) or a draft task's fields (`title`...)."""

    model_config = ConfigDict(extra="forbid")

    task_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    title: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    description: Annotated[str, StringConstraints(max_length=10_000)] = ""
    due_at: AwareDatetime | None = None
    labels: Annotated[list[Label], Field(max_length=20)] = Field(default_factory=list)
    priority: PriorityName | None = Field(
        default=None, description="The draft's current priority, if the user set one."
    )

    @model_validator(mode="after")
    def _one_subject(self) -> PriorityRequest:
        if (self.task_id is None) == (self.title is None):
            raise ValueError("give either task_id or title (with optional fields), not both")
        if self.task_id is not None and (self.description or self.due_at or self.labels):
            raise ValueError("task_id cannot be combined with task fields")
        return self


class SuggestionPublic(BaseModel):
    id: str
    task_id: str | None
    priority: PriorityName
    rationale: str
    confidence: float = Field(ge=0, le=1)
    suggested_due_at: datetime | None
    source: Literal["llm", "heuristic"]
    model: str | None
    created_at: datetime
    accepted: bool | None = Field(default=None, description="The feedback given on it, if any.")

    @classmethod
    def of(cls, suggestion: Suggestion) -> SuggestionPublic:
        return cls(
            id=suggestion.id,
            task_id=suggestion.task_id,
            priority=suggestion.priority,
            rationale=suggestion.rationale,
            confidence=suggestion.confidence,
            suggested_due_at=suggestion.suggested_due_at,
            source=suggestion.source,
            model=suggestion.model,
            created_at=suggestion.created_at,
            accepted=suggestion.accepted,
        )


class SuggestionPage(BaseModel):
    data: list[SuggestionPublic]
    next_cursor: str | None


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accepted: StrictBool


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=10, ge=1, le=50)
    timezone: str = Field(
        default="UTC", max_length=64, description="IANA zone that decides what 'today' is."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class PlanItemPublic(BaseModel):
    task_id: str
    title: str
    rank: int
    reason: str

    @classmethod
    def of(cls, item: PlanItem) -> PlanItemPublic:
        return cls(task_id=item.task_id, title=item.title, rank=item.rank, reason=item.reason)


class PlanPublic(BaseModel):
    data: list[PlanItemPublic]
