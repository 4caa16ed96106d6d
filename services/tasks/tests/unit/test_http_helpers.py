"""Pure helpers of the HTTP edge and the read side: ETags, cursors, export formats."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from taskflow_tasks.application.queries import Cursor, InvalidCursor, Sort
from taskflow_tasks.domain.model import Task
from taskflow_tasks.interfaces.http.conditional import etag, expected_versions, none_match
from taskflow_tasks.interfaces.http.export import as_csv, as_ics

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_etags_and_preconditions():
    assert etag(3) == '"v3"'
    assert none_match('"v3"', 3)
    assert none_match('W/"v3"', 3)
    assert none_match('"v1", "v3"', 3)
    assert none_match("*", 3)
    assert not none_match('"v2"', 3)
    assert not none_match(None, 3)
    assert expected_versions(None) is None
    assert expected_versions("*") is None
    assert expected_versions('"v2", "v5"') == frozenset({2, 5})
    assert expected_versions('W/"v2"') == frozenset()  # If-Match compares strongly
    assert expected_versions("garbage") == frozenset()


def test_cursors_round_trip_and_refuse_forgeries():
    task = Task.create(
        owner_id="o", actor_id="o", now=NOW, title="t", due_at=NOW + timedelta(days=1)
    )
    for sort in (Sort("due_at"), Sort("priority", True), Sort("created_at")):
        cursor = Cursor.after(task, sort)
        assert Cursor.decode(cursor.encode(), sort) == cursor
    encoded = Cursor.after(task, Sort("due_at")).encode()
    with pytest.raises(InvalidCursor):
        Cursor.decode(encoded, Sort("due_at", True))  # issued for another order

    def encode(data: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()

    forged = [
        ("not base64 !", Sort("due_at")),
        (encode([1, 2]), Sort("due_at")),
        (encode({"s": "priority", "v": "high", "i": str(task.id)}), Sort("priority")),
        (encode({"s": "priority", "v": True, "i": str(task.id)}), Sort("priority")),
        (encode({"s": "due_at", "v": "2026-01-01T00:00:00", "i": str(task.id)}), Sort("due_at")),
        (encode({"s": "due_at", "v": None, "i": "nope"}), Sort("due_at")),
    ]
    for text, sort in forged:
        with pytest.raises(InvalidCursor):
            Cursor.decode(text, sort)


def _task(**values) -> Task:
    task = Task.create(owner_id="o", actor_id="o", now=NOW, **{"title": "t", **values})
    task.id = UUID("01a21801-4f5d-708e-9366-8037be79312d")
    return task


def test_ics_is_folded_escaped_and_complete():
    long_title = "Plan, review; ship\\ " + "é" * 60
    text = as_ics(
        [
            _task(
                title=long_title, due_at=NOW + timedelta(days=1), reminders=["PT15M"], status="done"
            )
        ],
        now=NOW,
    ).decode()
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR"
    assert text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = text.replace("\r\n ", "")
    assert "SUMMARY:Plan\\, review\\; ship\\\\ " in unfolded
    assert "STATUS:COMPLETED" in unfolded
    assert "COMPLETED:20260302T090000Z" in unfolded
    assert "DUE:20260303T090000Z" in unfolded
    assert "TRIGGER;RELATED=END:-PT15M" in unfolded


def test_csv_neutralises_formulas():
    rows = as_csv([_task(title="+cmd|' /C calc'!A0", labels=["@home", "work"])]).decode()
    assert "'+cmd" in rows
    assert "'@home;work" in rows


@pytest.mark.parametrize("value", [0, 1_700_000_000, 0.5, "0.5", "1700000000", " 17e8 ", ".5"])
def test_date_times_are_text_not_unix_seconds(value):
    from pydantic import ValidationError

    from taskflow_tasks.interfaces.http.schemas import TaskCreate

    with pytest.raises(ValidationError, match="RFC 3339"):
        TaskCreate(title="t", due_at=value)


def test_an_rfc3339_date_time_is_read():
    from taskflow_tasks.interfaces.http.schemas import TaskCreate

    task = TaskCreate(title="t", due_at="2026-03-02T09:00:00+00:00", start_at="2026-03-01T08:00Z")
    assert task.due_at == NOW


@pytest.mark.parametrize("value", [True, False, "1.5"])
def test_a_position_is_a_json_number_not_a_boolean_or_text(value):
    from pydantic import ValidationError

    from taskflow_tasks.interfaces.http.schemas import TaskUpdate

    with pytest.raises(ValidationError):
        TaskUpdate(position=value)
    assert TaskUpdate(position=3).position == 3.0
    assert TaskUpdate(position=2.5).position == 2.5
