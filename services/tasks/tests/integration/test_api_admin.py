"""The admin API in-process: every user's tasks for a token with the administrators' realm
role, through the user API's own commands (events with the administrator as actor); a 403
problem for every other token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from taskflow_tasks.infrastructure.db import tables as t

PROBLEM = "application/problem+json"
ADMIN_ENDPOINTS = [
    ("GET", "/api/v1/admin/tasks", None),
    ("GET", f"/api/v1/admin/tasks/{uuid.uuid4()}", None),
    ("PATCH", f"/api/v1/admin/tasks/{uuid.uuid4()}", {"priority": "high"}),
    ("POST", "/api/v1/admin/tasks/bulk", {"ids": [str(uuid.uuid4())], "action": "complete"}),
    ("GET", "/api/v1/admin/stats", None),
]


@pytest.fixture
def make_admin(tasks_client, admins_for):
    return lambda roles=("user", "admin"): admins_for(tasks_client, roles)


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _due_yesterday(engine, task_id: str) -> None:
    """The API refuses a due date in the past: time passes for the row instead."""
    async with engine.begin() as conn:
        await conn.execute(
            update(t.tasks)
            .where(t.tasks.c.id == uuid.UUID(task_id))
            .values(due_at=datetime.now(UTC) - timedelta(days=1))
        )


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ENDPOINTS)
async def test_a_token_without_the_admin_role_gets_a_403_problem(
    make_admin, tasks_client, method, path, body
):
    user = make_admin(roles=("user",))
    response = await user.request(method, path, json=body)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "admin" in response.json()["detail"]
    anonymous = await tasks_client.request(method, path, json=body)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith(PROBLEM)


async def test_the_list_filters_every_users_tasks_and_counts_them(
    make_user, make_admin, tasks_pg_engine
):
    admin, alice, bob = make_admin(), make_user(), make_user()
    report = await alice.create_task(title="quarterly report", priority="high", due_at=_in(1))
    await _due_yesterday(tasks_pg_engine, report["id"])
    groceries = await alice.create_task(title="groceries", status="done")
    bobs = await bob.create_task(title="another report", assignee_id=bob.sub)
    trashed = await alice.create_task(title="old report")
    assert (await alice.delete(f"/api/v1/tasks/{trashed['id']}")).status_code == 204

    async def listed(**params):
        response = await admin.get("/api/v1/admin/tasks", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        return {task["id"] for task in body["data"]}, body["total"]

    assert await listed(owner_id=alice.sub) == ({report["id"], groceries["id"]}, 2)
    assert await listed(owner_id=alice.sub, status="todo") == ({report["id"]}, 1)
    assert await listed(owner_id=alice.sub, priority="high") == ({report["id"]}, 1)
    assert await listed(owner_id=alice.sub, overdue="true") == ({report["id"]}, 1)
    assert await listed(owner_id=alice.sub, deleted="true") == ({trashed["id"]}, 1)
    assert await listed(assignee_id=bob.sub) == ({bobs["id"]}, 1)
    found, total = await listed(q="report", owner_id=bob.sub)
    assert (found, total) == ({bobs["id"]}, 1)
    one = (await admin.get("/api/v1/admin/tasks", params={"owner_id": bob.sub})).json()
    assert one["data"][0]["owner_id"] == bob.sub
    assert one["data"][0]["deleted_at"] is None


@pytest.mark.parametrize(
    "sort", ["due_at", "-due_at", "priority", "-priority", "created_at", "-created_at"]
)
async def test_keyset_pages_walk_every_task_once_in_order(make_user, make_admin, sort):
    admin, owner = make_admin(), make_user()
    priorities = ["low", "high", "none", "urgent", "medium"]
    created = []
    for i in range(11):
        due = {"due_at": _in(1 + i % 4)} if i % 3 else {}  # some without a due date
        created.append(await owner.create_task(title=f"t{i}", priority=priorities[i % 5], **due))
    seen, cursor, totals = [], None, set()
    while True:
        params = {"owner_id": owner.sub, "sort": sort, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = (await admin.get("/api/v1/admin/tasks", params=params)).json()
        seen.extend(body["data"])
        totals.add(body["total"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert totals == {11}
    assert sorted(t["id"] for t in seen) == sorted(t["id"] for t in created)
    field, descending = sort.removeprefix("-"), sort.startswith("-")
    rank = {p: i for i, p in enumerate(["none", "low", "medium", "high", "urgent"])}

    def key(task):
        value = task[field]
        if field == "priority":
            value = rank[value]
        return value

    with_value = [t for t in seen if t[field] is not None]
    without = [t for t in seen if t[field] is None]
    assert seen == with_value + without  # no due date: last in both directions
    values = [key(t) for t in with_value]
    assert values == sorted(values, reverse=descending)


async def test_bad_list_input_is_a_4xx_problem(make_admin):
    admin = make_admin()
    for params in (
        {"sort": "title"},
        {"limit": 0},
        {"limit": 201},
        {"status": "nope"},
        {"cursor": "not-a-cursor"},
        {"project_id": "x"},
        {"q": "a\x00b"},
    ):
        response = await admin.get("/api/v1/admin/tasks", params=params)
        assert 400 <= response.status_code < 500, (params, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
    page = (await admin.get("/api/v1/admin/tasks", params={"sort": "due_at", "limit": 1})).json()
    if page["next_cursor"]:
        other = await admin.get(
            "/api/v1/admin/tasks", params={"sort": "priority", "cursor": page["next_cursor"]}
        )
        assert other.status_code == 400


async def test_get_shows_any_task_trashed_included(make_user, make_admin):
    admin, alice = make_admin(), make_user()
    task = await alice.create_task(title="private")
    response = await admin.get(f"/api/v1/admin/tasks/{task['id']}")
    assert response.status_code == 200
    assert response.json()["owner_id"] == alice.sub
    etag = response.headers["etag"]
    cached = await admin.get(f"/api/v1/admin/tasks/{task['id']}", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    await alice.delete(f"/api/v1/tasks/{task['id']}")
    trashed = await admin.get(f"/api/v1/admin/tasks/{task['id']}")
    assert trashed.json()["deleted_at"] is not None
    assert (await admin.get(f"/api/v1/admin/tasks/{uuid.uuid4()}")).status_code == 404
    assert (await admin.get("/api/v1/admin/tasks/not-an-id")).status_code == 404


async def test_patch_goes_through_the_task_rules_with_the_admin_as_actor(make_user, make_admin):
    admin, alice = make_admin(), make_user()
    task = await alice.create_task(title="draft")
    stale = await admin.patch(
        f"/api/v1/admin/tasks/{task['id']}", json={"title": "x"}, headers={"If-Match": '"v99"'}
    )
    assert stale.status_code == 412
    invalid = await admin.patch(f"/api/v1/admin/tasks/{task['id']}", json={"title": "  "})
    assert invalid.status_code == 422
    assert invalid.headers["content-type"].startswith(PROBLEM)
    unknown = await admin.patch(f"/api/v1/admin/tasks/{task['id']}", json={"owner_id": "me"})
    assert unknown.status_code == 422
    changed = await admin.patch(
        f"/api/v1/admin/tasks/{task['id']}",
        json={"title": "final", "priority": "urgent"},
        headers={"If-Match": '"v1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"v2"'
    assert changed.json()["owner_id"] == alice.sub  # still Alice's task
    assert (await alice.get(f"/api/v1/tasks/{task['id']}")).json()["title"] == "final"
    activity = (await alice.get(f"/api/v1/tasks/{task['id']}/activity")).json()["data"]
    assert activity[-1]["actor_id"] == admin.sub


async def test_bulk_applies_each_task_on_its_own(make_user, make_admin, tasks_pg_engine):
    admin, alice, bob = make_admin(), make_user(), make_user()
    a = await alice.create_task(title="a")
    b = await bob.create_task(title="b")
    missing = str(uuid.uuid4())
    response = await admin.post(
        "/api/v1/admin/tasks/bulk",
        json={"ids": [a["id"], missing, b["id"]], "action": "set_priority", "priority": "high"},
    )
    assert response.status_code == 200, response.text
    results = response.json()["data"]
    assert [(r["id"], r["ok"]) for r in results] == [
        (a["id"], True),
        (missing, False),
        (b["id"], True),
    ]
    assert results[1]["problem"]["status"] == 404
    assert (await bob.get(f"/api/v1/tasks/{b['id']}")).json()["priority"] == "high"
    async with tasks_pg_engine.connect() as conn:
        rows = await conn.execute(
            select(t.outbox.c.payload).where(t.outbox.c.event_type == "tasks.task.updated.v1")
        )
        by_admin = [p for (p,) in rows if p["subject"] == admin.sub]
    assert {p["data"]["task"]["id"] for p in by_admin} >= {a["id"], b["id"]}


async def test_bulk_actions_complete_trash_restore_reassign(make_user, make_admin):
    admin, alice = make_admin(), make_user()
    task = await alice.create_task(title="chore")
    ids = [task["id"]]

    async def bulk(**body):
        response = await admin.post("/api/v1/admin/tasks/bulk", json={"ids": ids, **body})
        assert response.status_code == 200, response.text
        return response.json()["data"][0]

    assert (await bulk(action="reassign", assignee_id=alice.sub))["ok"]
    refused = await bulk(action="reassign", assignee_id=str(uuid.uuid4()))
    assert not refused["ok"]
    assert refused["problem"]["status"] == 422  # a personal task: only its owner
    assert (await bulk(action="complete"))["ok"]
    assert (await alice.get(f"/api/v1/tasks/{task['id']}")).json()["status"] == "done"
    assert (await bulk(action="trash"))["ok"]
    assert (await alice.get(f"/api/v1/tasks/{task['id']}")).status_code == 404
    assert (await bulk(action="restore"))["ok"]
    assert (await alice.get(f"/api/v1/tasks/{task['id']}")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"ids": [], "action": "complete"},
        {"ids": [str(uuid.uuid4())] * 501, "action": "complete"},
        {"ids": ["nope"], "action": "complete"},
        {"ids": [str(uuid.uuid4())], "action": "explode"},
        {"ids": [str(uuid.uuid4())], "action": "set_priority"},
        {"ids": [str(uuid.uuid4())], "action": "set_priority", "priority": "extreme"},
        {"ids": [str(uuid.uuid4())], "action": "reassign"},
        {"ids": [str(uuid.uuid4())], "action": "complete", "priority": "high"},
        {"ids": [str(uuid.uuid4())], "action": "complete", "extra": 1},
    ],
)
async def test_bad_bulk_input_is_a_422_problem(make_admin, body):
    response = await make_admin().post("/api/v1/admin/tasks/bulk", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_stats_count_live_tasks_and_the_last_30_days(make_user, make_admin, tasks_pg_engine):
    admin, alice = make_admin(), make_user()
    before = (await admin.get("/api/v1/admin/stats")).json()
    late = await alice.create_task(title="late", due_at=_in(1))
    await _due_yesterday(tasks_pg_engine, late["id"])
    done = await alice.create_task(title="finished")
    await alice.patch(f"/api/v1/tasks/{done['id']}", json={"status": "done"})
    after = (await admin.get("/api/v1/admin/stats")).json()
    assert after["by_status"]["todo"] - before["by_status"]["todo"] == 1
    assert after["by_status"]["done"] - before["by_status"]["done"] == 1
    assert sum(after["by_priority"].values()) - sum(before["by_priority"].values()) == 2
    assert after["overdue"] - before["overdue"] == 1
    days = after["per_day"]
    assert len(days) == 30
    assert days[-1]["date"] == datetime.now(UTC).date().isoformat()
    assert days[-1]["created"] - before["per_day"][-1]["created"] == 2
    assert days[-1]["completed"] - before["per_day"][-1]["completed"] == 1
