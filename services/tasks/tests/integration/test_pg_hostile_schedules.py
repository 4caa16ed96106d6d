"""Hostile reminder offsets, recurrence rules and search syntax through the real service on
Postgres: each is a 422 problem+json naming the field (or a 200), never a 5xx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

HOSTILE_REMINDERS = [
    "P3000000D",
    "PT99999999999H",
    "P99999999999999999999Y",
    "PT" + "9" * 40 + "S",
    "P367D",
    "P13M",
    "-P1D",
    "P1.5D",
    "P\u0661D",
]
HOSTILE_RULES = [
    "FREQ=HOURLY;INTERVAL=99999999999",
    "FREQ=DAILY;COUNT=99999999999999999999",
    "FREQ=HOURLY;BYHOUR=25",
    "FREQ=YEARLY;BYEASTER=99999999",
    "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4",
]


def _due() -> str:
    return (datetime.now(UTC) + timedelta(days=30)).isoformat()


def _assert_422_on(response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [field] == [e["loc"][-1] for e in response.json()["errors"]], response.text


@pytest.mark.parametrize("offset", HOSTILE_REMINDERS)
async def test_hostile_reminder_offsets_are_422_on_create_patch_and_batch(make_user, offset):
    alice = make_user()
    body = {"title": "t", "due_at": _due(), "reminders": [offset]}
    _assert_422_on(await alice.post("/api/v1/tasks", json=body), "reminders")
    task = await alice.create_task(due_at=_due())
    url = f"/api/v1/tasks/{task['id']}"
    _assert_422_on(await alice.patch(url, json={"reminders": [offset]}), "reminders")
    batch = await alice.post(
        "/api/v1/tasks/batch",
        json={"operations": [{"op": "update", "id": task["id"], "patch": {"reminders": [offset]}}]},
    )
    assert batch.status_code == 422, batch.text
    assert (await alice.get(url)).json()["version"] == 1


async def test_a_year_of_reminders_is_accepted(make_user):
    alice = make_user()
    due = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    task = await alice.create_task(due_at=due, reminders=["P1Y", "P366D", "PT30M"])
    assert task["reminders"] == ["P1Y", "P366D", "PT30M"]


async def test_too_many_reminders_are_422(make_user):
    alice = make_user()
    body = {"title": "t", "due_at": _due(), "reminders": [f"PT{n}M" for n in range(1, 12)]}
    _assert_422_on(await alice.post("/api/v1/tasks", json=body), "reminders")


@pytest.mark.parametrize("rule", HOSTILE_RULES)
async def test_hostile_recurrence_rules_are_422(make_user, rule):
    alice = make_user()
    body = {"title": "t", "due_at": _due(), "recurrence": rule}
    _assert_422_on(await alice.post("/api/v1/tasks", json=body), "recurrence")


@pytest.mark.parametrize("q", ["!!!", "a & | b", "((( ))", ":*", "-", '"unclosed', "\\", "'; --"])
async def test_search_syntax_never_fails(make_user, q):
    alice = make_user()
    response = await alice.get("/api/v1/tasks", params={"q": q})
    assert response.status_code == 200, response.text
