"""Lists, in-process: filters, sorting, keyset pagination, batch, labels, export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _all_pages(user, **params):
    seen, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = (await user.get("/api/v1/tasks", params=query)).json()
        seen.extend(t["id"] for t in body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


async def test_filters(make_user):
    alice = make_user()
    a = await alice.create_task(
        title="alpha report", priority="high", labels=["Work"], due_at=_in(1)
    )
    b = await alice.create_task(title="beta", priority="low", labels=["home"], due_at=_in(5))
    c = await alice.create_task(title="gamma", status="done")

    async def ids(**params):
        response = await alice.get("/api/v1/tasks", params=params)
        assert response.status_code == 200, response.text
        return {t["id"] for t in response.json()["data"]}

    assert await ids(status=["todo"]) == {a["id"], b["id"]}
    assert await ids(status=["todo", "done"]) == {a["id"], b["id"], c["id"]}
    assert await ids(priority="high") == {a["id"]}
    assert await ids(label="work") == {a["id"]}
    assert await ids(due_before=_in(2)) == {a["id"]}
    assert await ids(due_after=_in(2)) == {b["id"]}
    assert await ids(q="report") == {a["id"]}
    assert await ids(overdue="true") == set()


@pytest.mark.parametrize(
    "sort",
    [
        "due_at",
        "-due_at",
        "priority",
        "-priority",
        "created_at",
        "-created_at",
        "updated_at",
        "-updated_at",
    ],
)
async def test_pages_cover_everything_once_in_order(make_user, sort):
    alice = make_user()
    priorities = ["none", "low", "medium", "high", "urgent"]
    for i in range(13):
        due = _in(i % 4 + 1) if i % 3 else None
        await alice.create_task(title=f"t{i}", priority=priorities[i % 5], due_at=due)
    paged = await _all_pages(alice, sort=sort, limit=4)
    whole = [
        t["id"]
        for t in (await alice.get("/api/v1/tasks", params={"sort": sort, "limit": 100})).json()[
            "data"
        ]
    ]
    assert paged == whole
    assert len(set(paged)) == 13


async def test_pagination_neither_repeats_nor_skips_while_tasks_are_inserted(make_user):
    alice = make_user()
    originals = [
        (await alice.create_task(title=f"o{i}", due_at=_in(i + 1)))["id"] for i in range(10)
    ]
    seen, cursor = [], None
    for round_ in range(20):
        params = {"sort": "-due_at", "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = (await alice.get("/api/v1/tasks", params=params)).json()
        seen.extend(t["id"] for t in body["data"])
        # someone inserts tasks that sort before and after the current position
        await alice.create_task(title=f"new{round_}a", due_at=_in(0.5))
        await alice.create_task(title=f"new{round_}b", due_at=_in(30))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(originals) <= set(seen)


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjogMX0", "!!!", "e30"])
async def test_bad_cursor_is_400(make_user, cursor):
    alice = make_user()
    response = await alice.get("/api/v1/tasks", params={"cursor": cursor})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


async def test_cursor_from_another_sort_is_400(make_user):
    alice = make_user()
    for i in range(3):
        await alice.create_task(title=f"t{i}")
    cursor = (await alice.get("/api/v1/tasks", params={"limit": 1})).json()["next_cursor"]
    response = await alice.get("/api/v1/tasks", params={"cursor": cursor, "sort": "-priority"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"sort": "title"},
        {"status": "blocked"},
        {"priority": "p0"},
        {"due_before": "yesterday"},
        {"overdue": "maybe"},
    ],
)
async def test_bad_list_parameters_are_422(make_user, params):
    alice = make_user()
    response = await alice.get("/api/v1/tasks", params=params)
    assert response.status_code == 422, response.text


async def test_batch_applies_all_or_nothing(make_user):
    alice = make_user()
    a = await alice.create_task(title="a")
    b = await alice.create_task(title="b")
    ok = await alice.post(
        "/api/v1/tasks/batch",
        json={
            "operations": [
                {"op": "update", "id": a["id"], "patch": {"priority": "high"}},
                {"op": "delete", "id": b["id"]},
            ]
        },
    )
    assert ok.status_code == 200, ok.text
    results = ok.json()["results"]
    assert [r["op"] for r in results] == ["update", "delete"]
    assert results[0]["task"]["priority"] == "high"

    c = await alice.create_task(title="c")
    failed = await alice.post(
        "/api/v1/tasks/batch",
        json={
            "operations": [
                {"op": "update", "id": c["id"], "patch": {"title": "changed"}},
                {"op": "update", "id": a["id"], "patch": {"title": ""}},
            ]
        },
    )
    assert failed.status_code == 422
    problem = failed.json()
    assert [f["index"] for f in problem["failures"]] == [1]
    assert (await alice.get(f"/api/v1/tasks/{c['id']}")).json()["title"] == "c"


async def test_batch_limits(make_user):
    alice = make_user()
    empty = await alice.post("/api/v1/tasks/batch", json={"operations": []})
    assert empty.status_code == 422
    task = await alice.create_task()
    too_many = [{"op": "delete", "id": task["id"]}] * 101
    assert (
        await alice.post("/api/v1/tasks/batch", json={"operations": too_many})
    ).status_code == 422


async def test_labels_are_counted_case_insensitively(make_user):
    alice = make_user()
    await alice.create_task(labels=["Work", "urgent"])
    await alice.create_task(labels=["work"])
    labels = (await alice.get("/api/v1/labels")).json()["data"]
    counts = {entry["label"].lower(): entry["count"] for entry in labels}
    assert counts == {"work": 2, "urgent": 1}


async def test_export_formats(make_user):
    alice = make_user()
    await alice.create_task(
        title="=SUM(A1)",
        description="line1\nline2; with, commas",
        due_at=_in(2),
        reminders=["PT30M"],
        labels=["a", "b"],
        recurrence="FREQ=WEEKLY",
        priority="urgent",
    )
    as_json = await alice.get("/api/v1/tasks/export", params={"format": "json"})
    assert as_json.status_code == 200
    assert len(as_json.json()["data"]) == 1
    as_csv = await alice.get("/api/v1/tasks/export", params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert rows[0]["title"] == "'=SUM(A1)"  # not a formula in a spreadsheet
    assert rows[0]["labels"] == "a;b"
    ics = await alice.get("/api/v1/tasks/export", params={"format": "ics"})
    assert ics.headers["content-type"].startswith("text/calendar")
    text = ics.text
    assert text.startswith("BEGIN:VCALENDAR\r\n")
    assert "BEGIN:VTODO" in text
    assert "PRIORITY:1" in text
    assert "RRULE:FREQ=WEEKLY" in text
    assert "TRIGGER;RELATED=END:-PT30M" in text
    assert "DESCRIPTION:line1\\nline2\\; with\\, commas" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert (await alice.get("/api/v1/tasks/export", params={"format": "xml"})).status_code == 422


@pytest.mark.parametrize("value", ["0.5", "1700000000", "-1"])
async def test_a_number_is_not_a_date_time_filter(make_user, value):
    user = make_user()
    for name in ("due_before", "due_after"):
        response = await user.get("/api/v1/tasks", params={name: value})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "RFC 3339" in response.text
