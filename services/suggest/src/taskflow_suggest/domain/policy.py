"""Rules a model's answer must obey, whatever the task text says."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from taskflow_suggest.domain.model import Verdict, priority_at, priority_rank

MAX_RATIONALE = 500
# How far (in priority levels) a model may move away from the heuristic when the task text
# reads like instructions to the model: such text may be an attempt to steer the answer.
INSTRUCTION_LIKE_MAX_DRIFT = 1


def bound_model_verdict(
    model: Verdict, heuristic: Verdict, *, instruction_like: bool, now: datetime
) -> Verdict:
    """Trim the rationale, drop a due date in the past, and, when the text looks like
    instructions, clamp the priority next to the heuristic's."""
    due = model.suggested_due_at
    if due is not None and (due.tzinfo is None or due <= now):
        due = None
    # NUL and other control characters cannot be stored (Postgres text) nor shown usefully.
    rationale = "".join(c for c in model.rationale if c.isprintable() or c == " ").strip()
    verdict = replace(
        model, rationale=rationale[:MAX_RATIONALE] or "No reason given.", suggested_due_at=due
    )
    if not instruction_like:
        return verdict
    wanted = priority_rank(model.priority)
    anchor = priority_rank(heuristic.priority)
    bounded = max(
        anchor - INSTRUCTION_LIKE_MAX_DRIFT, min(wanted, anchor + INSTRUCTION_LIKE_MAX_DRIFT)
    )
    if bounded == wanted:
        return verdict
    note = " (bounded: the task text reads like instructions to an assistant)"
    return replace(
        verdict,
        priority=priority_at(bounded),
        rationale=(verdict.rationale[: MAX_RATIONALE - len(note)] + note),
        confidence=min(verdict.confidence, heuristic.confidence),
    )
