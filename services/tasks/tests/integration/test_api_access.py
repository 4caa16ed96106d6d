"""Access, in-process: another user's task is a 404 everywhere; projects share tasks
with roles (viewer writes are 403; after removal, 404 again)."""

from __future__ import annotations

import pytest


@pytest.fixture
async def alice_task(make_user):
    alice = make_user()
    task = await alice.create_task(title="alice secret plan", labels=["private"])
    return alice, task


async def test_another_users_task_is_404_on_every_endpoint(make_user, alice_task):
    alice, task = alice_task
    bob = make_user()
    url = f"/api/v1/tasks/{task['id']}"
    attempts = [
        ("GET", url, {}),
        ("PATCH", url, {"json": {"title": "mine now"}}),
        ("DELETE", url, {}),
        ("POST", f"{url}/restore", {}),
        ("GET", f"{url}/activity", {}),
        ("POST", "/api/v1/tasks", {"json": {"title": "sub", "parent_id": task["id"]}}),
    ]
    for method, target, kwargs in attempts:
        response = await bob.request(method, target, **kwargs)
        assert response.status_code == 404, (method, target, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    batch = await bob.post(
        "/api/v1/tasks/batch", json={"operations": [{"op": "delete", "id": task["id"]}]}
    )
    assert batch.status_code == 404
    assert batch.json()["failures"][0]["index"] == 0
    # ... and it shows up nowhere
    assert (await bob.get("/api/v1/tasks")).json()["data"] == []
    assert (await bob.get("/api/v1/tasks", params={"q": "secret"})).json()["data"] == []
    assert (await bob.get("/api/v1/tasks", params={"deleted": "true"})).json()["data"] == []
    assert (await bob.get("/api/v1/labels")).json()["data"] == []
    export = await bob.get("/api/v1/tasks/export", params={"format": "csv"})
    assert "alice" not in export.text
    # ... and nothing changed for alice
    mine = await alice.get(url)
    assert mine.status_code == 200
    assert mine.json()["version"] == 1


async def test_project_members_see_tasks_viewers_cannot_write(make_user):
    owner, editor, viewer, outsider = make_user(), make_user(), make_user(), make_user()
    created = await owner.post("/api/v1/projects", json={"name": "Launch", "description": "Q4"})
    assert created.status_code == 201
    project = created.json()
    assert project["my_role"] == "owner"
    pid = project["id"]
    for user, role in ((editor, "editor"), (viewer, "viewer")):
        added = await owner.post(
            f"/api/v1/projects/{pid}/members", json={"user_id": user.sub, "role": role}
        )
        assert added.status_code == 201, added.text
    task = await owner.create_task(title="shared", project_id=pid, assignee_id=editor.sub)
    url = f"/api/v1/tasks/{task['id']}"

    assert (await viewer.get(url)).status_code == 200
    assert (await viewer.patch(url, json={"title": "nope"})).status_code == 403
    assert (await viewer.delete(url)).status_code == 403
    viewer_create = await viewer.post("/api/v1/tasks", json={"title": "x", "project_id": pid})
    assert viewer_create.status_code == 403
    assert (await editor.patch(url, json={"status": "in_progress"})).status_code == 200
    assert (await outsider.get(url)).status_code == 404
    assert (await outsider.get(f"/api/v1/projects/{pid}")).status_code == 404
    listed = (await viewer.get("/api/v1/tasks", params={"project_id": pid})).json()["data"]
    assert [t["id"] for t in listed] == [task["id"]]

    # the viewer may not manage the project; re-posting a member changes the role
    assert (await viewer.patch(f"/api/v1/projects/{pid}", json={"name": "x"})).status_code == 403
    promoted = await owner.post(
        f"/api/v1/projects/{pid}/members", json={"user_id": viewer.sub, "role": "editor"}
    )
    assert promoted.status_code == 200
    assert (await viewer.patch(url, json={"title": "now I can"})).status_code == 200

    removed = await owner.delete(f"/api/v1/projects/{pid}/members/{viewer.sub}")
    assert removed.status_code == 204
    assert (await viewer.get(url)).status_code == 404
    assert (await viewer.get(f"/api/v1/projects/{pid}")).status_code == 404
    assert (await viewer.get("/api/v1/tasks")).json()["data"] == []


async def test_assignee_must_be_a_project_member(make_user):
    owner, stranger = make_user(), make_user()
    pid = (await owner.post("/api/v1/projects", json={"name": "P"})).json()["id"]
    response = await owner.post(
        "/api/v1/tasks", json={"title": "t", "project_id": pid, "assignee_id": stranger.sub}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-1] == "assignee_id"


async def test_non_member_project_is_404_for_task_creation(make_user):
    owner, stranger = make_user(), make_user()
    pid = (await owner.post("/api/v1/projects", json={"name": "P"})).json()["id"]
    response = await stranger.post("/api/v1/tasks", json={"title": "t", "project_id": pid})
    assert response.status_code == 404


async def test_subtask_shares_parent_owner_and_project(make_user):
    owner, editor = make_user(), make_user()
    pid = (await owner.post("/api/v1/projects", json={"name": "P"})).json()["id"]
    await owner.post(
        f"/api/v1/projects/{pid}/members", json={"user_id": editor.sub, "role": "editor"}
    )
    parent = await owner.create_task(title="parent", project_id=pid)
    child = await editor.create_task(title="child", parent_id=parent["id"])
    assert child["owner_id"] == owner.sub
    assert child["project_id"] == pid
    other = (await owner.post("/api/v1/projects", json={"name": "Q"})).json()["id"]
    mismatch = await owner.post(
        "/api/v1/tasks", json={"title": "c", "parent_id": parent["id"], "project_id": other}
    )
    assert mismatch.status_code == 422
    cycle = await owner.patch(f"/api/v1/tasks/{parent['id']}", json={"parent_id": child["id"]})
    assert cycle.status_code == 422


async def test_deleting_a_project_returns_tasks_to_their_owners(make_user):
    owner = make_user()
    pid = (await owner.post("/api/v1/projects", json={"name": "P"})).json()["id"]
    task = await owner.create_task(project_id=pid)
    assert (await owner.delete(f"/api/v1/projects/{pid}")).status_code == 204
    assert (await owner.get(f"/api/v1/projects/{pid}")).status_code == 404
    assert (await owner.get(f"/api/v1/tasks/{task['id']}")).json()["project_id"] is None


async def test_last_owner_cannot_leave(make_user):
    owner = make_user()
    pid = (await owner.post("/api/v1/projects", json={"name": "P"})).json()["id"]
    response = await owner.delete(f"/api/v1/projects/{pid}/members/{owner.sub}")
    assert response.status_code == 409


@pytest.mark.parametrize(
    "hostile",
    [
        "../clients",
        "..%2Fclients",
        "00000000-0000-0000-0000-000000000000/../../clients",
        "{00000000-0000-0000-0000-000000000000}",
        "00000000000000000000000000000000",
        "00000000-0000-0000-0000-00000000000A",
        "",
    ],
)
async def test_a_member_id_that_is_not_a_user_id_is_a_422(make_user, hostile):
    # Member ids travel on to the identity provider's admin URLs (notify looks members up):
    # only Keycloak's canonical user-id spelling is accepted.
    owner = make_user()
    pid = (await owner.post("/api/v1/projects", json={"name": "Guarded"})).json()["id"]
    response = await owner.post(
        f"/api/v1/projects/{pid}/members", json={"user_id": hostile, "role": "viewer"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    project = (await owner.get(f"/api/v1/projects/{pid}")).json()
    assert [m["user_id"] for m in project["members"]] == [owner.sub]
