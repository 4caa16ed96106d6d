"""Events published by the suggest service."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from taskflow_common.events.contracts.tasks import TaskPriority
from taskflow_common.events.envelope import EventData


class PrioritySuggestedV1(EventData):
    EVENT_TYPE = "suggest.priority.suggested.v1"
    suggestion_id: str
    task_id: str
    owner_id: str
    project_id: str | None = None
    assignee_id: str | None = None
    priority: TaskPriority
    rationale: str
    confidence: float = Field(ge=0, le=1)
    suggested_due_at: AwareDatetime | None = None
    source: Literal["llm", "heuristic"]
    model: str | None = None


SUGGEST_EVENTS: tuple[type[EventData], ...] = (PrioritySuggestedV1,)
