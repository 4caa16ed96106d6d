"""User B never sees or changes user A's data: every operation of the merged OpenAPI is called by
B with A's identifiers, and the WebSocket carries nothing of A's to B.

A's data carries a marker string; no answer B gets (success or error) may contain it, and no
answer naming one of A's resources may be a success. Afterwards A's data is unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time

import httpx
import pytest
import websockets

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def owned(gateway, alice):
    """A's project, task (assigned to A, labelled), suggestion and a notification."""
    marker = f"alicesecret{secrets.token_hex(4)}"
    with httpx.Client(base_url=gateway, headers=alice.headers, timeout=30) as client:
        project = client.post("/api/v1/projects", json={"name": f"{marker} project"})
        assert project.status_code == 201, project.text
        task = client.post(
            "/api/v1/tasks",
            json={
                "title": f"{marker} task",
                "description": marker,
                "project_id": project.json()["id"],
                "assignee_id": alice.id,
                "labels": [marker],
            },
        )
        assert task.status_code == 201, task.text
        suggestion = client.post(
            "/api/v1/suggestions/priority", json={"task_id": task.json()["id"]}
        )
        assert suggestion.status_code == 200, suggestion.text
        notification_id = None
        deadline = time.monotonic() + 20
        while notification_id is None and time.monotonic() < deadline:
            listed = client.get("/api/v1/notifications").json()["data"]
            notification_id = listed[0]["id"] if listed else None
            if notification_id is None:
                time.sleep(0.3)
        assert notification_id, "no notification reached A within 20 s"
    return {
        "marker": marker,
        "project_id": project.json()["id"],
        "task_id": task.json()["id"],
        "parent_id": task.json()["id"],
        "suggestion_id": suggestion.json()["id"],
        "notification_id": notification_id,
        "user_id": alice.id,
        "assignee_id": alice.id,
        # A's webhooks cannot target anything reachable here (see test_webhook_targets); an id
        # that exists for nobody is the honest stand-in.
        "webhook_id": "00000000-0000-4000-8000-00000000a11c",
        "task": task.json(),
        "project": project.json(),
    }


def _bodies(owned: dict) -> dict[tuple[str, str], object]:
    """A plausible body per operation, aimed at A's resources where a body can name one."""
    task, project = owned["task_id"], owned["project_id"]
    return {
        ("POST", "/api/v1/tasks"): {"title": "b's", "project_id": project, "parent_id": task},
        ("PATCH", "/api/v1/tasks/{task_id}"): {"title": "taken over"},
        ("POST", "/api/v1/tasks/batch"): {
            "operations": [
                {"op": "update", "id": task, "patch": {"title": "taken over"}},
                {"op": "delete", "id": task},
            ]
        },
        ("PATCH", "/api/v1/projects/{project_id}"): {"name": "taken over"},
        ("POST", "/api/v1/projects/{project_id}/members"): {"user_id": "B", "role": "editor"},
        ("POST", "/api/v1/suggestions/priority"): {"task_id": task},
        ("POST", "/api/v1/suggestions/{suggestion_id}/feedback"): {"accepted": True},
        ("PUT", "/api/v1/notifications/preferences"): {},
    }


def _operations(openapi: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in openapi["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if method in METHODS
    ]


def test_b_gets_nothing_of_a_from_any_operation(gateway, openapi, alice, bob, owned):
    bodies = _bodies(owned)
    leaks, takeovers, calls = [], [], 0
    with httpx.Client(base_url=gateway, headers=bob.headers, timeout=30) as client:
        for method, template, operation in _operations(openapi):
            path = re.sub(r"\{([^}]+)\}", lambda m: owned[m.group(1)], template)
            names_a_resource = "{" in template
            # Every query parameter that can name A's resources does.
            params = {
                p["name"]: owned[p["name"]]
                for p in operation.get("parameters", [])
                if p["in"] == "query" and p["name"] in owned
            }
            body = bodies.get((method, template))
            if body is not None and template.endswith("/members"):
                body = {**body, "user_id": bob.id}
            response = client.request(
                method, path, params=params, json=body if method != "GET" else None
            )
            calls += 1
            label = f"{method} {template} {params or ''} -> {response.status_code}"
            if owned["marker"] in response.text:
                leaks.append(f"{label}: {response.text[:200]}")
            if (
                (names_a_resource or params or body)
                and 200 <= response.status_code < 300
                and not _is_empty_or_bs_own(response, bob, owned)
            ):
                takeovers.append(f"{label}: {response.text[:200]}")
    assert calls >= 30
    assert leaks == []
    assert takeovers == []
    _a_is_unchanged(gateway, alice, owned)


def _is_empty_or_bs_own(response: httpx.Response, bob, owned: dict) -> bool:
    """A success is acceptable only when it shows nothing of A's: an empty page, or B's own."""
    if not response.content:
        return False  # 204 on A's resource: something was done to it
    try:
        body = response.json()
    except ValueError:
        return owned["task_id"] not in response.text
    if isinstance(body, dict) and body.get("data") == []:
        return True
    text = json.dumps(body)
    a_ids = (
        owned["task_id"],
        owned["project_id"],
        owned["suggestion_id"],
        owned["notification_id"],
    )
    if any(i in text for i in a_ids):
        return False
    if isinstance(body, dict) and body.get("owner_id") == bob.id:
        return True  # e.g. B created a task of B's own (it must not land in A's project)
    return not isinstance(body, dict) or "id" not in body or body.get("id") not in a_ids


def _a_is_unchanged(gateway: str, alice, owned: dict) -> None:
    with httpx.Client(base_url=gateway, headers=alice.headers, timeout=30) as client:
        task = client.get(f"/api/v1/tasks/{owned['task_id']}")
        assert task.status_code == 200, task.text
        assert task.json()["title"] == owned["task"]["title"]
        assert task.json()["deleted_at"] is None
        assert task.json()["version"] == owned["task"]["version"]
        project = client.get(f"/api/v1/projects/{owned['project_id']}")
        assert project.status_code == 200, project.text
        assert project.json()["name"] == owned["project"]["name"]
        assert project.json()["members"] == owned["project"]["members"]
        tasks_in_project = client.get("/api/v1/tasks", params={"project_id": owned["project_id"]})
        assert [t["owner_id"] for t in tasks_in_project.json()["data"]] == [alice.id]


_SINCE_THE_START = base64.urlsafe_b64encode(b"n1:0").decode().rstrip("=")


async def _frames(ws, quiet_for: float) -> list[dict]:
    frames = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), quiet_for)))
    except TimeoutError:
        return frames


async def test_b_s_websocket_carries_nothing_of_a(gateway, alice, bob, owned):
    ws_url = gateway.replace("http://", "ws://") + "/ws/notifications"
    async with (
        websockets.connect(ws_url, subprotocols=["bearer", alice.token]) as ws_a,
        websockets.connect(ws_url, subprotocols=["bearer", bob.token]) as ws_b,
        # B asks for everything since the beginning of time (cursor seq 0): A's rows must not
        # be part of B's replay.
        websockets.connect(
            f"{ws_url}?since={_SINCE_THE_START}", subprotocols=["bearer", bob.token]
        ) as replay_b,
        httpx.AsyncClient(base_url=gateway, headers=alice.headers, timeout=30) as client,
    ):
        await _frames(ws_a, 0.5)
        changed = await client.patch(
            f"/api/v1/tasks/{owned['task_id']}", json={"description": owned["marker"] + " again"}
        )
        assert changed.status_code == 200, changed.text
        owned["task"] = changed.json()
        seen_by_a = await _frames(ws_a, 2.0)
        seen_by_b = await _frames(ws_b, 0.5) + await _frames(replay_b, 0.5)
    assert any(owned["task_id"] in json.dumps(f) for f in seen_by_a), "A saw no change at all"
    leaked = [
        f
        for f in seen_by_b
        if owned["marker"] in json.dumps(f) or owned["task_id"] in json.dumps(f)
    ]
    assert leaked == []
