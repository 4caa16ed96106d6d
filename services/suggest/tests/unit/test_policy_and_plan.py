"""Rules on model answers, and the ranking of today's plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from taskflow_suggest.domain.model import TaskFacts, Verdict
from taskflow_suggest.domain.plan import plan_for_today
from taskflow_suggest.domain.policy import bound_model_verdict

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _verdict(priority, source="llm", due=None):
    return Verdict(priority, "why", 0.9, due, source, "m" if source == "llm" else None)


def test_a_model_verdict_passes_unchanged_for_ordinary_text():
    model = _verdict("urgent")
    bounded = bound_model_verdict(
        model, _verdict("low", "heuristic"), instruction_like=False, now=NOW
    )
    assert bounded.priority == "urgent"


def test_instruction_like_text_keeps_the_model_within_one_level_of_the_heuristic():
    bounded = bound_model_verdict(
        _verdict("urgent"), _verdict("low", "heuristic"), instruction_like=True, now=NOW
    )
    assert bounded.priority == "medium"
    assert "bounded" in bounded.rationale
    assert bounded.source == "llm"


def test_a_suggested_due_date_in_the_past_is_dropped():
    past = _verdict("high", due=NOW - timedelta(days=1))
    bounded = bound_model_verdict(
        past, _verdict("high", "heuristic"), instruction_like=False, now=NOW
    )
    assert bounded.suggested_due_at is None


def test_control_characters_are_stripped_from_a_model_rationale():
    dirty = Verdict("low", "fine\x00\x07 enough", 0.5, None, "llm", "m")
    bounded = bound_model_verdict(
        dirty, _verdict("low", "heuristic"), instruction_like=False, now=NOW
    )
    assert bounded.rationale == "fine enough"


def _task(task_id, title, due=None, status="todo"):
    return TaskFacts(title=title, due_at=due, task_id=task_id, status=status)


def test_plan_puts_overdue_then_due_today_then_by_urgency():
    tasks = [
        _task("a", "Someday read a novel"),
        _task("b", "Outage in prod: customers cannot log in"),
        _task("c", "Water the plants", due=NOW - timedelta(hours=5)),
        _task("d", "Send the invoice", due=NOW + timedelta(hours=6)),
        _task("e", "Done already", due=NOW - timedelta(days=1), status="done"),
    ]
    items = plan_for_today(tasks, NOW, ZoneInfo("UTC"), limit=10)
    assert [i.task_id for i in items] == ["c", "d", "b", "a"]
    assert [i.rank for i in items] == [1, 2, 3, 4]
    assert "overdue" in items[0].reason
    assert all(i.reason for i in items)


def test_plan_honours_the_limit():
    tasks = [_task(str(i), f"Task {i}") for i in range(20)]
    assert len(plan_for_today(tasks, NOW, ZoneInfo("UTC"), limit=3)) == 3


def test_what_today_means_follows_the_time_zone():
    # 23:30 UTC on the 26th is "today" in UTC but already the 27th in Auckland (UTC+13).
    call = _task("call", "Call mum", due=datetime(2026, 11, 26, 23, 30, tzinfo=UTC))
    fire = _task("fire", "Outage in production, customers cannot log in, asap")
    utc_plan = plan_for_today([fire, call], NOW, ZoneInfo("UTC"), limit=10)
    nz_plan = plan_for_today([fire, call], NOW, ZoneInfo("Pacific/Auckland"), limit=10)
    assert [i.task_id for i in utc_plan] == ["call", "fire"]
    assert [i.task_id for i in nz_plan] == ["fire", "call"]
