"""The task API through the gateway, with real Keycloak tokens for two users, against the
distributed suite (every service its own process, Postgres, RabbitMQ)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PROBLEM = "application/problem+json"


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_create_read_conditional_update_and_trash(alice):
    created = alice.http.post(
        "/api/v1/tasks",
        json={
            "title": " e2e: write the report ",
            "priority": "high",
            "due_at": _in(2),
            "reminders": ["PT1H"],
            "labels": ["E2E"],
        },
    )
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["title"] == "e2e: write the report"
    assert task["owner_id"] == alice.id
    url = f"/api/v1/tasks/{task['id']}"
    assert created.headers["location"].endswith(url)
    etag = created.headers["etag"]

    read = alice.http.get(url)
    assert read.status_code == 200
    assert read.headers["etag"] == etag
    assert alice.http.get(url, headers={"If-None-Match": etag}).status_code == 304

    patched = alice.http.patch(
        url,
        content=b'{"status": "in_progress", "reminders": null}',
        headers={"Content-Type": "application/merge-patch+json", "If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["reminders"] == []
    assert patched.headers["etag"] != etag
    stale = alice.http.patch(url, json={"title": "lost"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert alice.http.get(url).json()["title"] == "e2e: write the report"

    assert alice.http.delete(url).status_code == 204
    assert alice.http.get(url).status_code == 404
    trash = alice.http.get("/api/v1/tasks", params={"deleted": "true"}).json()["data"]
    assert task["id"] in [t["id"] for t in trash]
    assert alice.http.post(f"{url}/restore").status_code == 200
    assert alice.http.get(url).status_code == 200

    activity = alice.http.get(f"{url}/activity").json()["data"]
    assert [a["action"] for a in activity] == ["created", "updated", "deleted", "restored"]
    assert activity[0]["actor_id"] == alice.id


def test_idempotency_key(alice):
    key = {"Idempotency-Key": f"e2e-{datetime.now(UTC).timestamp()}"}
    first = alice.http.post("/api/v1/tasks", json={"title": "e2e once"}, headers=key)
    again = alice.http.post("/api/v1/tasks", json={"title": "e2e once"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    different = alice.http.post("/api/v1/tasks", json={"title": "e2e other"}, headers=key)
    assert different.status_code == 422
    assert different.headers["content-type"] == PROBLEM


def test_another_users_task_is_404_everywhere(alice, bob):
    task = alice.create_task(title="e2e alice private zebra", labels=["alice-only"])
    url = f"/api/v1/tasks/{task['id']}"
    for method, target, body in [
        ("GET", url, None),
        ("PATCH", url, {"title": "mine"}),
        ("DELETE", url, None),
        ("POST", f"{url}/restore", None),
        ("GET", f"{url}/activity", None),
        ("POST", "/api/v1/tasks", {"title": "sub", "parent_id": task["id"]}),
        ("POST", "/api/v1/tasks/batch", {"operations": [{"op": "delete", "id": task["id"]}]}),
    ]:
        response = bob.http.request(method, target, json=body)
        assert response.status_code == 404, (method, target, response.text)
        assert response.headers["content-type"] == PROBLEM
    assert task["id"] not in [t["id"] for t in bob.http.get("/api/v1/tasks").json()["data"]]
    assert bob.http.get("/api/v1/tasks", params={"q": "zebra"}).json()["data"] == []
    labels = [entry["label"] for entry in bob.http.get("/api/v1/labels").json()["data"]]
    assert "alice-only" not in labels
    assert "zebra" not in bob.http.get("/api/v1/tasks/export", params={"format": "csv"}).text
    assert alice.http.get(url).json()["version"] == 1


def test_projects_share_tasks_by_role(alice, bob):
    project = alice.http.post("/api/v1/projects", json={"name": "e2e launch"})
    assert project.status_code == 201, project.text
    pid = project.json()["id"]
    task = alice.create_task(title="e2e shared", project_id=pid)
    url = f"/api/v1/tasks/{task['id']}"
    assert bob.http.get(url).status_code == 404
    added = alice.http.post(
        f"/api/v1/projects/{pid}/members", json={"user_id": bob.id, "role": "viewer"}
    )
    assert added.status_code == 201, added.text
    assert bob.http.get(url).status_code == 200
    assert bob.http.patch(url, json={"title": "viewer write"}).status_code == 403
    alice.http.post(f"/api/v1/projects/{pid}/members", json={"user_id": bob.id, "role": "editor"})
    assert bob.http.patch(url, json={"assignee_id": bob.id}).status_code == 200
    assert alice.http.delete(f"/api/v1/projects/{pid}/members/{bob.id}").status_code == 204
    assert bob.http.get(url).status_code == 404
    assert bob.http.get(f"/api/v1/projects/{pid}").status_code == 404
    assert alice.http.delete(f"/api/v1/projects/{pid}").status_code == 204


def test_projects_list_in_pages(alice, bob):
    created = []
    for i in range(3):
        response = alice.http.post("/api/v1/projects", json={"name": f"e2e page {i}"})
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    bobs = bob.http.post("/api/v1/projects", json={"name": "e2e bob's own"}).json()["id"]
    pages, seen, cursor = 0, [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = alice.http.get("/api/v1/projects", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) <= 2
        seen += [p["id"] for p in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages >= 2
    assert [pid for pid in seen if pid in created] == created  # creation order, each once
    assert len(seen) == len(set(seen))
    assert bobs not in seen
    bad = alice.http.get("/api/v1/projects", params={"cursor": "nonsense"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == PROBLEM
    assert alice.http.get("/api/v1/projects", params={"limit": 101}).status_code == 422
    for pid in created:
        assert alice.http.delete(f"/api/v1/projects/{pid}").status_code == 204
    assert bob.http.delete(f"/api/v1/projects/{bobs}").status_code == 204


def test_lists_batch_labels_and_export(alice):
    ids = [
        alice.create_task(title=f"e2e page {i}", labels=["e2e-page"], due_at=_in(1 + i))["id"]
        for i in range(5)
    ]
    seen, cursor = [], None
    while True:
        params = {"label": "e2e-page", "sort": "-due_at", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = alice.http.get("/api/v1/tasks", params=params).json()
        seen += [t["id"] for t in body["data"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    assert alice.http.get("/api/v1/tasks", params={"cursor": "nonsense"}).status_code == 400
    batch = alice.http.post(
        "/api/v1/tasks/batch",
        json={
            "operations": [
                {"op": "update", "id": ids[0], "patch": {"status": "done"}},
                {"op": "delete", "id": ids[1]},
            ]
        },
    )
    assert batch.status_code == 200, batch.text
    assert [r["status"] for r in batch.json()["results"]] == [200, 204]
    labels = {e["label"]: e["count"] for e in alice.http.get("/api/v1/labels").json()["data"]}
    assert labels["e2e-page"] == 4
    ics = alice.http.get("/api/v1/tasks/export", params={"format": "ics"})
    assert ics.status_code == 200
    assert "BEGIN:VTODO" in ics.text


def test_bad_input(alice):
    assert (
        alice.http.post(
            "/api/v1/tasks", content=b"{oops", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    invalid = alice.http.post(
        "/api/v1/tasks", json={"title": "t", "priority": "p0", "recurrence": "FREQ=NEVER", "x": 1}
    )
    assert invalid.status_code == 422
    fields = {e["loc"][-1] for e in invalid.json()["errors"]}
    assert {"priority", "x"} <= fields
    assert alice.http.get("/api/v1/tasks/not-a-uuid").status_code == 404
    assert (
        alice.http.post(
            "/api/v1/tasks", json={"title": "t", "due_at": "2000-01-01T00:00:00Z"}
        ).status_code
        == 422
    )
