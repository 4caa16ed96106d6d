"""What a suggestion is about (TaskFacts) and what it says (Suggestion)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

Priority = Literal["none", "low", "medium", "high", "urgent"]
Source = Literal["llm", "heuristic"]

# Ordered from least to most pressing; the index is the priority's rank.
PRIORITIES: tuple[Priority, ...] = ("none", "low", "medium", "high", "urgent")


def priority_rank(priority: Priority) -> int:
    return PRIORITIES.index(priority)


def priority_at(rank: int) -> Priority:
    return PRIORITIES[max(0, min(rank, len(PRIORITIES) - 1))]


@dataclass(frozen=True)
class TaskFacts:
    """The fields of a task the engines look at. Text fields are untrusted user input."""

    title: str
    description: str = ""
    due_at: datetime | None = None
    labels: tuple[str, ...] = ()
    priority: Priority | None = None
    created_at: datetime | None = None
    status: str = "todo"
    # A subtask blocks its parent from completing (Taskwarrior's "blocking").
    is_subtask: bool = False
    # Open subtasks this task waits for (Taskwarrior's "blocked").
    open_subtasks: int = 0
    task_id: str | None = None
    owner_id: str | None = None
    project_id: str | None = None
    assignee_id: str | None = None


@dataclass(frozen=True)
class Suggestion:
    id: str
    task_id: str | None
    requested_by: str
    priority: Priority
    rationale: str
    confidence: float
    suggested_due_at: datetime | None
    source: Source
    model: str | None
    created_at: datetime
    source_event_id: str | None = None
    # For a suggestion answering a task event: the version of the task snapshot it read.
    task_version: int | None = None
    accepted: bool | None = None

    def with_feedback(self, accepted: bool) -> Suggestion:
        return replace(self, accepted=accepted)


@dataclass(frozen=True)
class Verdict:
    """An engine's answer before it becomes a stored Suggestion."""

    priority: Priority
    rationale: str
    confidence: float
    suggested_due_at: datetime | None
    source: Source
    model: str | None = None
