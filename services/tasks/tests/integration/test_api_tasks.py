"""The task API in-process: create/read/patch/delete, conditional requests,
idempotency and the bad-input table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


def _future(days: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def test_create_returns_201_with_location_and_etag(make_user):
    alice = make_user()
    response = await alice.post(
        "/api/v1/tasks",
        json={"title": "  Write report  ", "priority": "high", "labels": ["Work", "work", "Q3"]},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "Write report"
    assert body["labels"] == ["Work", "Q3"]
    assert body["status"] == "todo"
    assert body["version"] == 1
    assert response.headers["location"] == f"/api/v1/tasks/{body['id']}"
    assert response.headers["etag"] == '"v1"'
    assert body["owner_id"] == alice.sub


async def test_get_supports_etag_and_if_none_match(make_user):
    alice = make_user()
    task = await alice.create_task()
    first = await alice.get(f"/api/v1/tasks/{task['id']}")
    assert first.status_code == 200
    assert first.json() == task
    again = await alice.get(
        f"/api/v1/tasks/{task['id']}", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_patch_with_stale_if_match_is_412_and_changes_nothing(make_user):
    alice = make_user()
    task = await alice.create_task(title="original")
    url = f"/api/v1/tasks/{task['id']}"
    ok = await alice.patch(url, json={"title": "renamed"}, headers={"If-Match": '"v1"'})
    assert ok.status_code == 200
    assert ok.headers["etag"] == '"v2"'
    stale = await alice.patch(url, json={"title": "lost update"}, headers={"If-Match": '"v1"'})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert (await alice.get(url)).json()["title"] == "renamed"


async def test_patch_is_a_merge_patch(make_user):
    alice = make_user()
    task = await alice.create_task(
        title="t", due_at=_future(), reminders=["PT30M"], labels=["a"], description="d"
    )
    url = f"/api/v1/tasks/{task['id']}"
    response = await alice.patch(
        url,
        content=b'{"reminders": null, "due_at": null, "priority": "urgent"}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["due_at"] is None
    assert body["reminders"] == []
    assert body["priority"] == "urgent"
    assert body["labels"] == ["a"]
    assert body["description"] == "d"
    assert body["version"] == 2


async def test_completing_sets_completed_at_and_reopening_clears_it(make_user):
    alice = make_user()
    task = await alice.create_task()
    url = f"/api/v1/tasks/{task['id']}"
    done = (await alice.patch(url, json={"status": "done"})).json()
    assert done["completed_at"] is not None
    reopened = (await alice.patch(url, json={"status": "in_progress"})).json()
    assert reopened["completed_at"] is None


async def test_completing_a_recurring_task_creates_the_next_occurrence(make_user):
    alice = make_user()
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    task = await alice.create_task(
        title="water plants", due_at=due.isoformat(), recurrence="FREQ=WEEKLY"
    )
    await alice.patch(f"/api/v1/tasks/{task['id']}", json={"status": "done"})
    todo = (await alice.get("/api/v1/tasks", params={"status": "todo"})).json()["data"]
    assert len(todo) == 1
    assert todo[0]["title"] == "water plants"
    assert todo[0]["id"] != task["id"]
    assert datetime.fromisoformat(todo[0]["due_at"]) == due + timedelta(weeks=1)


async def test_delete_moves_to_trash_and_restore_brings_back(make_user):
    alice = make_user()
    task = await alice.create_task()
    url = f"/api/v1/tasks/{task['id']}"
    assert (await alice.delete(url)).status_code == 204
    assert (await alice.get(url)).status_code == 404
    assert (await alice.get("/api/v1/tasks")).json()["data"] == []
    trash = (await alice.get("/api/v1/tasks", params={"deleted": "true"})).json()["data"]
    assert [t["id"] for t in trash] == [task["id"]]
    restored = await alice.post(f"{url}/restore")
    assert restored.status_code == 200
    assert restored.json()["deleted_at"] is None
    assert (await alice.get(url)).status_code == 200


async def test_idempotency_key_replays_the_same_response(make_user):
    alice = make_user()
    headers = {"Idempotency-Key": "create-1"}
    body = {"title": "once", "labels": ["x"]}
    first = await alice.post("/api/v1/tasks", json=body, headers=headers)
    second = await alice.post("/api/v1/tasks", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert first.headers["location"] == second.headers["location"]
    assert len((await alice.get("/api/v1/tasks")).json()["data"]) == 1


async def test_idempotency_key_with_a_different_body_is_422(make_user):
    alice = make_user()
    headers = {"Idempotency-Key": "create-2"}
    assert (
        await alice.post("/api/v1/tasks", json={"title": "a"}, headers=headers)
    ).status_code == 201
    reused = await alice.post("/api/v1/tasks", json={"title": "b"}, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["type"].endswith("idempotency-key-reused")
    assert len((await alice.get("/api/v1/tasks")).json()["data"]) == 1


async def test_idempotency_keys_are_per_user(make_user):
    alice, bob = make_user(), make_user()
    headers = {"Idempotency-Key": "same-key"}
    a = await alice.post("/api/v1/tasks", json={"title": "a"}, headers=headers)
    b = await bob.post("/api/v1/tasks", json={"title": "b"}, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


PAST = "2001-01-01T00:00:00+00:00"

BAD_CREATE = [
    ({}, "title"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": 5}, "title"),
    ({"title": "t", "description": "d" * 10_001}, "description"),
    ({"title": "t", "priority": "critical"}, "priority"),
    ({"title": "t", "status": "blocked"}, "status"),
    ({"title": "t", "unknown": 1}, "unknown"),
    ({"title": "t", "due_at": "2030-01-01T00:00:00"}, "due_at"),
    ({"title": "t", "due_at": "tomorrow"}, "due_at"),
    ({"title": "t", "due_at": PAST}, "due_at"),
    ({"title": "t", "recurrence": "FREQ=SOMETIMES"}, "recurrence"),
    ({"title": "t", "recurrence": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "recurrence"),
    ({"title": "t", "reminders": ["PT30M"]}, "reminders"),
    ({"title": "t", "due_at": _future(), "reminders": ["30 minutes"]}, "reminders"),
    ({"title": "t", "labels": [f"l{i}" for i in range(21)]}, "labels"),
    ({"title": "t", "labels": ["x" * 51]}, "labels"),
    ({"title": "t", "labels": "work"}, "labels"),
    ({"title": "t", "position": "first"}, "position"),
    ({"title": "t", "project_id": "not-a-uuid"}, "project_id"),
    ({"title": "t", "start_at": _future(3), "due_at": _future(1)}, "start_at"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CREATE)
async def test_invalid_input_is_422_naming_the_field(make_user, body, field):
    alice = make_user()
    response = await alice.post("/api/v1/tasks", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert any(field in [str(p) for p in e["loc"]] for e in problem["errors"]), problem
    assert (await alice.get("/api/v1/tasks")).json()["data"] == []


@pytest.mark.parametrize("raw", [b"{", b'{"title": "x",}', b"not json", b'{"title": "\xff"}'])
async def test_malformed_json_is_400(make_user, raw):
    alice = make_user()
    response = await alice.post(
        "/api/v1/tasks", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_non_json_body_is_415(make_user):
    alice = make_user()
    response = await alice.post(
        "/api/v1/tasks", content=b"title=x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "01a2"])
async def test_ids_that_are_not_uuids_are_404(make_user, bad_id):
    alice = make_user()
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"title": "x"}} if method == "PATCH" else {}
        response = await alice.request(method, f"/api/v1/tasks/{bad_id}", **kwargs)
        assert response.status_code == 404, (method, response.text)


async def test_patch_validation_errors_change_nothing(make_user):
    alice = make_user()
    task = await alice.create_task(title="keep")
    url = f"/api/v1/tasks/{task['id']}"
    for patch in (
        {"title": None},
        {"status": None},
        {"title": "x" * 300},
        {"owner_id": "me"},
        {"reminders": ["PT5M"]},
        {"recurrence": "nope"},
    ):
        response = await alice.patch(url, json=patch)
        assert response.status_code == 422, (patch, response.text)
    assert (await alice.get(url)).json()["version"] == 1


async def test_missing_or_bad_token_is_401(tasks_client, mint_token):
    assert (await tasks_client.get("/api/v1/tasks")).status_code == 401
    bad = {"Authorization": "Bearer not.a.token"}
    assert (await tasks_client.get("/api/v1/tasks", headers=bad)).status_code == 401
    expired = mint_token("someone", exp=int(datetime.now(UTC).timestamp()) - 3600)
    response = await tasks_client.get(
        "/api/v1/tasks", headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401
    wrong_audience = mint_token("someone", aud="another-api")
    response = await tasks_client.get(
        "/api/v1/tasks", headers={"Authorization": f"Bearer {wrong_audience}"}
    )
    assert response.status_code == 401


async def test_activity_records_changes(make_user):
    alice = make_user()
    task = await alice.create_task(title="a")
    await alice.patch(f"/api/v1/tasks/{task['id']}", json={"title": "b", "priority": "low"})
    activity = (await alice.get(f"/api/v1/tasks/{task['id']}/activity")).json()["data"]
    assert [a["action"] for a in activity] == ["created", "updated"]
    assert activity[1]["changes"] == {"title": ["a", "b"], "priority": ["none", "low"]}
    assert activity[1]["actor_id"] == alice.sub


async def test_a_trashed_tasks_activity_is_gone_until_it_is_restored(make_user):
    alice = make_user()
    task = await alice.create_task(title="a")
    url = f"/api/v1/tasks/{task['id']}"
    assert (await alice.delete(url)).status_code == 204
    gone = await alice.get(f"{url}/activity")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert (await alice.post(f"{url}/restore")).status_code == 200
    activity = (await alice.get(f"{url}/activity")).json()["data"]
    assert [a["action"] for a in activity] == ["created", "deleted", "restored"]


async def test_health_and_metrics(tasks_client, tasks_metrics_listener):
    assert (await tasks_client.get("/healthz")).status_code == 200
    ready = await tasks_client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    detailed = await tasks_client.get(f"{tasks_metrics_listener}/readyz")
    assert detailed.json()["checks"]["database"] == "ok"
    assert (await tasks_client.get("/metrics")).status_code == 404
    metrics = (await tasks_client.get(f"{tasks_metrics_listener}/metrics")).text
    for name in (
        "taskflow_tasks_outbox_backlog_events",
        "taskflow_tasks_outbox_oldest_age_seconds",
        "taskflow_tasks_open_tasks",
        "taskflow_tasks_overdue_tasks",
    ):
        assert name in metrics


async def test_openapi_documents_the_endpoints(tasks_client):
    document = (await tasks_client.get("/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/tasks/batch",
        "/api/v1/tasks/export",
        "/api/v1/tasks/{task_id}/activity",
        "/api/v1/tasks/{task_id}/restore",
        "/api/v1/projects",
        "/api/v1/projects/{project_id}/members",
        "/api/v1/labels",
    ):
        assert path in paths, path
    assert "get" in paths["/api/v1/tasks/{task_id}"]
    assert "TaskCreate" in document["components"]["schemas"]
