"""The ports the use cases need; adapters live in infrastructure and are chosen in bootstrap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from taskflow_suggest.domain.model import Priority, Suggestion, TaskFacts, Verdict


@dataclass(frozen=True)
class Caller:
    """Who asks, and the bearer token the tasks API is called with on their behalf."""

    user_id: str
    token: str


class PriorityModel(Protocol):
    """An LLM provider. Raises ModelFailure (with a reason) instead of answering badly."""

    @property
    def model_name(self) -> str: ...

    async def suggest(self, task: TaskFacts, now: datetime) -> Verdict: ...


@dataclass(frozen=True)
class RecordedSuggestion:
    """What `record_for_event` stored (or found from an earlier delivery of the event)."""

    suggestion: Suggestion
    # The priority of the suggestion about the same task that came just before this one
    # (by id, so a redelivery sees the same one); None for the task's first.
    previous_priority: Priority | None


@dataclass(frozen=True)
class SourceCounts:
    source: str
    suggestions: int
    accepted: int  # feedback entries (one per suggestion and user)
    rejected: int


class SuggestionRepository(Protocol):
    async def add(self, suggestion: Suggestion) -> Suggestion:
        """Store it; if one already exists for its source_event_id, return that one instead."""
        ...

    async def record_for_event(self, suggestion: Suggestion) -> RecordedSuggestion | None:
        """`add` for a suggestion answering an event, plus the task's previous priority.

        None when the suggestion's `task_version` is not newer than one already answered for
        its task by another event: events arrive in no guaranteed order, and advice read from
        an older snapshot must not follow advice read from a newer one (ADR 0304). A
        redelivered event still gets its own suggestion back. The consumer's hot path:
        adapters should make it one round trip where they can.
        """
        ...

    async def get(self, suggestion_id: str) -> Suggestion | None: ...

    async def by_source_event(self, event_id: str) -> Suggestion | None: ...

    async def list_for_task(
        self, task_id: str, *, limit: int, before_id: str | None
    ) -> list[Suggestion]:
        """Latest first (ids are time-ordered UUIDv7); `before_id` continues a page."""
        ...

    async def list_requested_by(
        self, user_id: str, *, limit: int, before_id: str | None
    ) -> list[Suggestion]: ...

    async def record_feedback(self, suggestion_id: str, user_id: str, accepted: bool) -> None:
        """One feedback per suggestion and user; giving it again replaces it."""
        ...

    async def acceptance_counts(self) -> tuple[int, int]:
        """(accepted, total) over every feedback given."""
        ...

    async def source_counts(self) -> list[SourceCounts]:
        """Per source that has suggestions: how many, and the feedback they got."""
        ...


class TaskReader(Protocol):
    """Reads tasks as the caller: what the caller may not see is None (a 404 upstream)."""

    async def get(self, caller: Caller, task_id: str) -> TaskFacts | None: ...

    async def open_tasks(self, caller: Caller, limit: int) -> list[TaskFacts]: ...


class TaskWriter(Protocol):
    async def set_priority(self, caller: Caller, task_id: str, priority: Priority) -> None:
        """Raises TaskNotFoundError, TaskChangeForbiddenError or TasksUnavailableError."""
        ...
