"""Today's plan: the caller's open tasks, overdue and due today first, then by urgency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from taskflow_suggest.domain.model import TaskFacts
from taskflow_suggest.domain.urgency import urgency

OPEN_STATUSES = frozenset({"todo", "in_progress"})


@dataclass(frozen=True)
class PlanItem:
    task_id: str
    title: str
    rank: int
    reason: str
    score: float


def plan_for_today(
    tasks: list[TaskFacts], now: datetime, zone: tzinfo, limit: int = 10
) -> list[PlanItem]:
    today = now.astimezone(zone).date()
    scored = []
    for task in tasks:
        if task.task_id is None or task.status not in OPEN_STATUSES:
            continue
        result = urgency(task, now)
        if task.due_at is not None and task.due_at <= now:
            bucket = 0
        elif task.due_at is not None and task.due_at.astimezone(zone).date() == today:
            bucket = 1
        else:
            bucket = 2
        due_key = task.due_at.timestamp() if task.due_at else float("inf")
        scored.append(((bucket, -result.score, due_key, task.task_id), task, result))
    scored.sort(key=lambda item: item[0])
    items = []
    for rank, (key, task, result) in enumerate(scored[:limit], start=1):
        reasons = result.top_reasons(2) or ["nothing pressing; a good filler"]
        if key[0] == 1 and not any(r.startswith("due") for r in reasons):
            reasons.insert(0, "due today")
        reason = "; ".join(reasons)
        items.append(PlanItem(task.task_id or "", task.title, rank, reason[:200], result.score))
    return items
