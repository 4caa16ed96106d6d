"""The use cases: suggest a priority, list suggestions, take feedback, plan the day, react
to task events. Each is a plain async function over the ports in `SuggestDeps`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo

from opentelemetry import trace

from taskflow_common.events import Envelope, new_envelope
from taskflow_common.events.contracts.suggest import PrioritySuggestedV1
from taskflow_common.events.contracts.tasks import TaskCreatedV1, TaskSnapshotV1, TaskUpdatedV1
from taskflow_common.ids import is_canonical_uuid, uuid7
from taskflow_common.messaging import EventBus, UnroutableEventError
from taskflow_suggest.application import metrics
from taskflow_suggest.application.errors import (
    ModelFailure,
    SuggestionNotFoundError,
    TaskNotFoundError,
)
from taskflow_suggest.application.ports import (
    Caller,
    PriorityModel,
    SourceCounts,
    SuggestionRepository,
    TaskReader,
    TaskWriter,
)
from taskflow_suggest.domain.cues import looks_like_instructions
from taskflow_suggest.domain.model import Source, Suggestion, TaskFacts, Verdict
from taskflow_suggest.domain.plan import PlanItem, plan_for_today
from taskflow_suggest.domain.policy import bound_model_verdict
from taskflow_suggest.domain.urgency import heuristic_verdict

log = logging.getLogger(__name__)
tracer = trace.get_tracer("taskflow.suggest")

# Task fields whose change can change a suggestion (the issue: title, description, due date).
RELEVANT_FIELDS = frozenset({"title", "description", "due_at"})
OPEN_STATUSES = frozenset({"todo", "in_progress"})
PLAN_SCAN_LIMIT = 500
# Deterministic event ids: re-publishing the same suggestion yields the same event_id,
# so a retry after a lost confirm is deduplicated by consumers.
_EVENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://taskflow.dev/suggest/events")


@dataclass
class SuggestDeps:
    repository: SuggestionRepository
    tasks: TaskReader
    writer: TaskWriter
    model: PriorityModel | None = None
    bus: EventBus | None = None
    model_timeout: float = 8.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


@dataclass(frozen=True)
class SuggestionStats:
    by_source: dict[str, SourceCounts]

    @property
    def total(self) -> int:
        return sum(c.suggestions for c in self.by_source.values())

    @property
    def accepted(self) -> int:
        return sum(c.accepted for c in self.by_source.values())

    @property
    def rejected(self) -> int:
        return sum(c.rejected for c in self.by_source.values())

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted over all feedback given; None before any."""
        judged = self.accepted + self.rejected
        return self.accepted / judged if judged else None


async def decide(deps: SuggestDeps, task: TaskFacts, now: datetime) -> Verdict:
    """The model's verdict when it gives a valid one in time, else the heuristic's."""
    with tracer.start_as_current_span("suggest priority") as span:
        verdict, fallback = await _decide(deps, task, now)
        span.set_attribute("taskflow.suggest.source", verdict.source)
        span.set_attribute("taskflow.suggest.priority", verdict.priority)
        if fallback:
            span.set_attribute("taskflow.suggest.fallback_reason", fallback)
            metrics.FALLBACKS.labels(fallback).inc()
        return verdict


async def _decide(deps: SuggestDeps, task: TaskFacts, now: datetime) -> tuple[Verdict, str]:
    """(verdict, fallback reason or "")."""
    heuristic = heuristic_verdict(task, now)
    if deps.model is None:
        return heuristic, "not_configured"
    try:
        async with asyncio.timeout(deps.model_timeout):
            verdict = await deps.model.suggest(task, now)
    except ModelFailure as failure:
        log.info("model fell back to the heuristic", extra={"reason": failure.reason})
        return heuristic, failure.reason
    except TimeoutError:
        return heuristic, "timeout"
    instruction_like = looks_like_instructions(f"{task.title}\n{task.description}")
    bounded = bound_model_verdict(verdict, heuristic, instruction_like=instruction_like, now=now)
    return bounded, ""


def _new_suggestion(
    verdict: Verdict,
    *,
    task_id: str | None,
    requested_by: str,
    now: datetime,
    source_event_id: str | None = None,
    task_version: int | None = None,
) -> Suggestion:
    return Suggestion(
        id=str(uuid7()),
        task_id=task_id,
        requested_by=requested_by,
        priority=verdict.priority,
        rationale=verdict.rationale,
        confidence=verdict.confidence,
        suggested_due_at=verdict.suggested_due_at,
        source=verdict.source,
        model=verdict.model,
        created_at=now,
        source_event_id=source_event_id,
        task_version=task_version,
    )


async def suggest_for_task(deps: SuggestDeps, caller: Caller, task_id: str) -> Suggestion:
    task = await deps.tasks.get(caller, task_id)
    if task is None:
        raise TaskNotFoundError(task_id)
    now = deps.clock()
    verdict = await decide(deps, task, now)
    metrics.SUGGESTIONS.labels(verdict.source, "api").inc()
    suggestion = _new_suggestion(verdict, task_id=task_id, requested_by=caller.user_id, now=now)
    return await deps.repository.add(suggestion)


async def suggest_for_text(deps: SuggestDeps, caller: Caller, task: TaskFacts) -> Suggestion:
    now = deps.clock()
    verdict = await decide(deps, task, now)
    metrics.SUGGESTIONS.labels(verdict.source, "api").inc()
    suggestion = _new_suggestion(verdict, task_id=None, requested_by=caller.user_id, now=now)
    return await deps.repository.add(suggestion)


async def list_suggestions(
    deps: SuggestDeps, caller: Caller, *, task_id: str | None, limit: int, before_id: str | None
) -> list[Suggestion]:
    """Latest first. About a task: only if the caller may see it. Otherwise: the caller's own."""
    if task_id is not None:
        if await deps.tasks.get(caller, task_id) is None:
            raise TaskNotFoundError(task_id)
        about_task: list[Suggestion] = await deps.repository.list_for_task(
            task_id, limit=limit, before_id=before_id
        )
        return about_task
    own: list[Suggestion] = await deps.repository.list_requested_by(
        caller.user_id, limit=limit, before_id=before_id
    )
    return own


async def give_feedback(
    deps: SuggestDeps, caller: Caller, suggestion_id: str, *, accepted: bool
) -> Suggestion:
    """Record the caller's verdict; accepting applies the priority through the tasks API."""
    # Suggestion ids are canonical UUIDs: any other text names none, and must not reach the
    # database (a NUL byte in it is an error there, not a miss).
    if not is_canonical_uuid(suggestion_id):
        raise SuggestionNotFoundError(suggestion_id)
    suggestion = await deps.repository.get(suggestion_id)
    if suggestion is None:
        raise SuggestionNotFoundError(suggestion_id)
    if suggestion.task_id is not None:
        if await deps.tasks.get(caller, suggestion.task_id) is None:
            raise SuggestionNotFoundError(suggestion_id)
        if accepted:
            # The tasks API enforces write access (a viewer gets a 403) and emits the
            # ordinary tasks.task.updated.v1 event, so notify and others see a normal update.
            await deps.writer.set_priority(caller, suggestion.task_id, suggestion.priority)
    elif suggestion.requested_by != caller.user_id:
        raise SuggestionNotFoundError(suggestion_id)
    await deps.repository.record_feedback(suggestion_id, caller.user_id, accepted)
    metrics.FEEDBACK.labels("accepted" if accepted else "rejected").inc()
    accepted_count, total = await deps.repository.acceptance_counts()
    if total:
        metrics.ACCEPTANCE_RATIO.set(accepted_count / total)
    return suggestion.with_feedback(accepted)


async def admin_stats(deps: SuggestDeps) -> SuggestionStats:
    """Every suggestion and its feedback, in all and per source (llm, heuristic)."""
    by_source = {source: SourceCounts(source, 0, 0, 0) for source in get_args(Source)}
    for counts in await deps.repository.source_counts():
        by_source[counts.source] = counts
    return SuggestionStats(by_source)


async def plan_today(
    deps: SuggestDeps, caller: Caller, *, limit: int, timezone: str
) -> list[PlanItem]:
    tasks = await deps.tasks.open_tasks(caller, PLAN_SCAN_LIMIT)
    items: list[PlanItem] = plan_for_today(tasks, deps.clock(), ZoneInfo(timezone), limit)
    return items


def facts_from_snapshot(task: TaskSnapshotV1) -> TaskFacts:
    return TaskFacts(
        title=task.title,
        description=task.description,
        due_at=task.due_at,
        labels=tuple(task.labels),
        priority=task.priority,
        created_at=task.created_at,
        status=task.status,
        is_subtask=task.parent_id is not None,
        task_id=task.id,
        owner_id=task.owner_id,
        project_id=task.project_id,
        assignee_id=task.assignee_id,
    )


async def on_task_event(deps: SuggestDeps, envelope: Envelope[Any]) -> Suggestion | None:
    """tasks.task.created.v1 / tasks.task.updated.v1 → a stored suggestion, published when it
    differs from the task's current priority and from the task's previous suggestion.

    Idempotent by event_id: a redelivered event finds the suggestion it already produced and
    publishes it again (same event id), so a crash between store and publish loses nothing.
    """
    if envelope.event_type == TaskCreatedV1.EVENT_TYPE:
        snapshot = TaskCreatedV1.model_validate(envelope.data).task
    elif envelope.event_type == TaskUpdatedV1.EVENT_TYPE:
        updated = TaskUpdatedV1.model_validate(envelope.data)
        if not RELEVANT_FIELDS.intersection(updated.changed_fields):
            return None
        snapshot = updated.task
    else:
        return None
    if snapshot.status not in OPEN_STATUSES:
        return None
    now = deps.clock()
    # Decided before the store looks for an earlier delivery: one round trip in the common
    # case. A redelivery recomputes a verdict it then discards (the model's answers are cached).
    verdict = await decide(deps, facts_from_snapshot(snapshot), now)
    candidate = _new_suggestion(
        verdict,
        task_id=snapshot.id,
        requested_by=snapshot.owner_id,
        now=now,
        source_event_id=str(envelope.event_id),
        task_version=snapshot.version,
    )
    recorded = await deps.repository.record_for_event(candidate)
    if recorded is None:
        # A newer snapshot of the task was answered already (events arrive in any order):
        # this advice is about a task that no longer looks like this.
        metrics.STALE_EVENTS.inc()
        return None
    suggestion = recorded.suggestion
    if suggestion.id == candidate.id:
        metrics.SUGGESTIONS.labels(verdict.source, "event").inc()
    # Only advice that would change something, and that the user has not been given already,
    # is news (ADR 0404, 0405): a suggestion equal to the task's priority, or equal to the
    # task's previous suggestion, is stored and listed but nobody is notified. Decided from
    # the event and the suggestions before it, so a redelivery makes the same choice.
    is_news = suggestion.priority not in (snapshot.priority, recorded.previous_priority)
    if deps.bus is not None and is_news:
        try:
            await deps.bus.publish(suggested_event(suggestion, snapshot))
        except UnroutableEventError:
            # No consumer has bound a queue for suggestions yet (notify never started):
            # the suggestion is stored and listed; there is nobody to tell.
            log.warning("no queue is bound for suggestion events; not published")
    return suggestion


def suggested_event(suggestion: Suggestion, task: TaskSnapshotV1) -> Envelope[Any]:
    data = PrioritySuggestedV1(
        suggestion_id=suggestion.id,
        task_id=task.id,
        owner_id=task.owner_id,
        project_id=task.project_id,
        assignee_id=task.assignee_id,
        priority=suggestion.priority,
        rationale=suggestion.rationale,
        confidence=suggestion.confidence,
        suggested_due_at=suggestion.suggested_due_at,
        source=suggestion.source,
        model=suggestion.model,
    )
    return new_envelope(
        data,
        subject=task.owner_id,
        event_id=uuid5(_EVENT_NAMESPACE, suggestion.id),
    )
