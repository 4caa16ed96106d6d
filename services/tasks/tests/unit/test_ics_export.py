"""The iCalendar export read back by a calendar parser: every field survives, whatever the text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given, reject, settings
from hypothesis import strategies as st
from icalendar import Calendar

from taskflow_tasks.domain.errors import InvalidFields
from taskflow_tasks.domain.model import Task
from taskflow_tasks.interfaces.http.export import as_ics

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# What RFC 5545 TEXT cannot carry: control characters other than tab (and line breaks, which
# it writes as \n).
_UNREPRESENTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
texts = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200).filter(
    lambda t: t.strip()
)


def _expected(text: str) -> str:
    return _UNREPRESENTABLE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=150, deadline=None)
@given(
    title=texts,
    description=texts,
    labels=st.lists(texts.filter(lambda t: len(t) <= 50), min_size=1, max_size=3, unique=True),
)
def test_any_title_description_and_labels_read_back_as_written(title, description, labels):
    try:
        task = Task.create(
            owner_id="o",
            actor_id="o",
            now=NOW,
            title=title,
            description=description,
            labels=labels,
            due_at=NOW + timedelta(days=1),
            reminders=["PT15M"],
        )
    except InvalidFields:
        reject()  # what the domain refuses never reaches an export
    raw = as_ics([task], now=NOW)

    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert not _UNREPRESENTABLE.search(raw.decode().replace("\r\n", ""))
    (todo,) = Calendar.from_ical(raw).walk("VTODO")
    # Compared with what the task holds (the domain trims titles and labels).
    assert _normalised(todo.decoded("summary")) == _expected(task.title)
    assert _normalised(todo.decoded("description")) == _expected(task.description or "")
    assert [_normalised(c) for c in todo.categories] == [_expected(x) for x in task.labels]


def _normalised(value: object) -> str:
    text = value.decode() if isinstance(value, bytes) else str(value)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def test_dates_recurrence_and_reminders_are_calendar_values():
    task = Task.create(
        owner_id="o",
        actor_id="o",
        now=NOW,
        title="Weekly review",
        due_at=NOW + timedelta(days=1),
        recurrence="FREQ=WEEKLY;BYDAY=MO,WE;COUNT=5",
        reminders=["PT15M", "P1D"],
    )
    (todo,) = Calendar.from_ical(as_ics([task], now=NOW)).walk("VTODO")

    assert todo.decoded("due") == NOW + timedelta(days=1)
    assert todo.decoded("dtstamp") == NOW
    assert dict(todo["rrule"]) == {"FREQ": ["WEEKLY"], "BYDAY": ["MO", "WE"], "COUNT": [5]}
    triggers = [alarm["trigger"] for alarm in todo.walk("VALARM")]
    assert [t.dt for t in triggers] == [-timedelta(minutes=15), -timedelta(days=1)]
    assert {t.params["RELATED"] for t in triggers} == {"END"}


def test_calendar_month_and_year_reminders_export_as_absolute_triggers():
    due = datetime(2026, 3, 31, 9, tzinfo=UTC)
    task = Task.create(
        owner_id="o", actor_id="o", now=NOW, title="t", due_at=due, reminders=["P1M", "P1Y"]
    )
    (todo,) = Calendar.from_ical(as_ics([task], now=NOW)).walk("VTODO")
    triggers = [alarm.decoded("trigger") for alarm in todo.walk("VALARM")]
    assert triggers == [datetime(2026, 2, 28, 9, tzinfo=UTC), datetime(2025, 3, 31, 9, tzinfo=UTC)]
