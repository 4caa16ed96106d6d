"""The heuristic engine: an urgency score in the spirit of Taskwarrior's, mapped to a priority.

Urgency is a sum of weighted terms (due proximity or overdue, the task's own priority, age,
blocking/blocked, text and label cues). Every term is kept with a human-readable reason,
so the rationale says exactly why a task came out where it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from taskflow_suggest.domain.cues import (
    MAX_TEXT_BOOST,
    MAX_TEXT_DAMPING,
    CueHit,
    label_cues,
    looks_like_instructions,
    text_cues,
)
from taskflow_suggest.domain.model import Priority, TaskFacts, Verdict

# An ordinary task with no signal at all is "low": it is worth doing, nothing says it is pressing.
BASE_SCORE = 2.0
# (hours until due at most, points, reason); the first row that fits wins.
DUE_TERMS: tuple[tuple[float, float, str], ...] = (
    (0.0, 12.0, "overdue"),
    (6.0, 11.0, "due within 6 hours"),
    (24.0, 9.5, "due within a day"),
    (72.0, 7.0, "due within 3 days"),
    (7 * 24.0, 4.5, "due within a week"),
    (14 * 24.0, 2.5, "due within two weeks"),
)
FAR_DUE_POINTS = 1.0
EXPLICIT_PRIORITY_POINTS: dict[Priority, float] = {
    "urgent": 5.0,
    "high": 3.0,
    "medium": 1.5,
    "low": -0.5,
    "none": 0.0,
}
AGE_MAX_POINTS = 1.5
AGE_FULL_DAYS = 180.0
BLOCKING_POINTS = 1.5
BLOCKED_POINTS = -1.5
# Lower bounds of each priority on the urgency scale.
THRESHOLDS: tuple[tuple[float, Priority], ...] = (
    (14.0, "urgent"),
    (9.0, "high"),
    (4.5, "medium"),
    (1.0, "low"),
)
INSTRUCTION_NOTE = (
    "the text reads like instructions to an assistant, so its wording was not counted"
)


@dataclass(frozen=True)
class Term:
    points: float
    reason: str


@dataclass(frozen=True)
class Urgency:
    score: float
    terms: tuple[Term, ...]
    instruction_like: bool

    @property
    def priority(self) -> Priority:
        for floor, priority in THRESHOLDS:
            if self.score >= floor:
                return priority
        return "none"

    def top_reasons(self, limit: int = 3) -> list[str]:
        ranked = sorted(self.terms, key=lambda t: abs(t.points), reverse=True)
        return [t.reason for t in ranked[:limit] if t.points != 0]


def urgency(task: TaskFacts, now: datetime) -> Urgency:
    terms: list[Term] = []
    due = _due_term(task.due_at, now)
    if due is not None:
        terms.append(due)
    if task.priority is not None and EXPLICIT_PRIORITY_POINTS[task.priority]:
        terms.append(
            Term(EXPLICIT_PRIORITY_POINTS[task.priority], f"marked {task.priority} by its owner")
        )
    age = _age_term(task.created_at, now)
    if age is not None:
        terms.append(age)
    if task.is_subtask:
        terms.append(Term(BLOCKING_POINTS, "a subtask that blocks its parent"))
    if task.open_subtasks > 0:
        terms.append(Term(BLOCKED_POINTS, f"waits on {task.open_subtasks} open subtask(s)"))
    instruction_like = looks_like_instructions(f"{task.title}\n{task.description}")
    if not instruction_like:
        terms.extend(_cue_terms(text_cues(f"{task.title}\n{task.description}"), "mentions"))
    terms.extend(_cue_terms(label_cues(task.labels), "labelled"))
    score = BASE_SCORE + sum(t.points for t in terms)
    return Urgency(round(score, 2), tuple(terms), instruction_like)


def heuristic_verdict(task: TaskFacts, now: datetime) -> Verdict:
    result = urgency(task, now)
    priority = result.priority
    reasons = result.top_reasons() or ["no deadline or pressing words"]
    if result.instruction_like:
        reasons.append(INSTRUCTION_NOTE)
    rationale = f"{priority.capitalize()}: " + "; ".join(reasons) + "."
    return Verdict(
        priority=priority,
        rationale=rationale[:500],
        confidence=_confidence(result),
        suggested_due_at=suggest_due(task, priority, now),
        source="heuristic",
        model=None,
    )


def suggest_due(task: TaskFacts, priority: Priority, now: datetime) -> datetime | None:
    """Only when the task has none and the priority says it cannot wait long."""
    if task.due_at is not None:
        return None
    if priority == "urgent":
        return _next_hour(now + timedelta(hours=4))
    if priority == "high":
        return _next_hour(now + timedelta(days=1))
    return None


def _due_term(due_at: datetime | None, now: datetime) -> Term | None:
    if due_at is None:
        return None
    hours = (due_at - now).total_seconds() / 3600
    if hours <= 0:
        return Term(DUE_TERMS[0][1], f"overdue by {_span(-hours)}")
    for limit, points, reason in DUE_TERMS[1:]:
        if hours <= limit:
            return Term(points, f"{reason} (in {_span(hours)})")
    return Term(FAR_DUE_POINTS, f"due in {_span(hours)}")


def _age_term(created_at: datetime | None, now: datetime) -> Term | None:
    if created_at is None:
        return None
    days = (now - created_at).total_seconds() / 86400
    if days < 7:
        return None
    points = round(AGE_MAX_POINTS * min(days / AGE_FULL_DAYS, 1.0), 2)
    return Term(points, f"open for {int(days)} days")


def _cue_terms(hits: list[CueHit], verb: str) -> list[Term]:
    """Cue points, capped per sign; one term per sign keeps the rationale short."""
    boosts = sorted((h for h in hits if h.weight > 0), key=lambda h: -h.weight)
    damps = sorted((h for h in hits if h.weight < 0), key=lambda h: h.weight)
    terms = []
    if boosts:
        points = min(sum(h.weight for h in boosts), MAX_TEXT_BOOST)
        terms.append(Term(points, f"{verb} " + ", ".join(f"'{h.cue}'" for h in boosts[:4])))
    if damps:
        points = max(sum(h.weight for h in damps), MAX_TEXT_DAMPING)
        terms.append(Term(points, f"{verb} " + ", ".join(f"'{h.cue}'" for h in damps[:4])))
    return terms


def _confidence(result: Urgency) -> float:
    """More independent signals and a score far from a threshold make the call surer."""
    signals = len([t for t in result.terms if abs(t.points) >= 1.0])
    confidence = 0.45 + 0.1 * min(signals, 4)
    if any(abs(result.score - floor) < 1.0 for floor, _ in THRESHOLDS):
        confidence -= 0.1
    if result.instruction_like:
        confidence -= 0.15
    return round(max(0.2, min(confidence, 0.85)), 2)


def _span(hours: float) -> str:
    if hours < 1:
        return f"{max(int(hours * 60), 1)} min"
    if hours < 48:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} days"


def _next_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
