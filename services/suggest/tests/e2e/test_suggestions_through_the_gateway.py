"""The suggestion API through the gateway, against the real tasks service and Keycloak users:
suggest, list, accept (the task's priority changes as an ordinary update), the day plan, and
the 404 for another user."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from taskflow_common.testing import KeycloakRealm
from taskflow_common.testing.suite import require_suite

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gateway_users():
    gateway = require_suite()
    realm = KeycloakRealm()
    alice, bob = realm.create_user("suggest-alice"), realm.create_user("suggest-bob")
    with httpx.Client(base_url=gateway, timeout=30.0) as client:
        yield (
            client,
            {"Authorization": f"Bearer {realm.access_token(alice)}"},
            {"Authorization": f"Bearer {realm.access_token(bob)}"},
        )


def _create(client: httpx.Client, headers: dict[str, str], **body) -> dict:
    response = client.post("/api/v1/tasks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_suggest_list_and_accept_a_priority(gateway_users):
    client, alice, bob = gateway_users
    due = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    task = _create(
        client, alice, title="Production outage: checkout down for customers", due_at=due
    )

    made = client.post("/api/v1/suggestions/priority", json={"task_id": task["id"]}, headers=alice)
    assert made.status_code == 200, made.text
    suggestion = made.json()
    assert suggestion["task_id"] == task["id"]
    assert suggestion["priority"] in ("high", "urgent")
    assert suggestion["source"] in ("llm", "heuristic")

    listed = client.get("/api/v1/suggestions", params={"task_id": task["id"]}, headers=alice)
    assert listed.status_code == 200
    assert suggestion["id"] in [s["id"] for s in listed.json()["data"]]

    for response in (
        client.post("/api/v1/suggestions/priority", json={"task_id": task["id"]}, headers=bob),
        client.get("/api/v1/suggestions", params={"task_id": task["id"]}, headers=bob),
        client.post(
            f"/api/v1/suggestions/{suggestion['id']}/feedback", json={"accepted": True}, headers=bob
        ),
    ):
        assert response.status_code == 404, response.text

    accepted = client.post(
        f"/api/v1/suggestions/{suggestion['id']}/feedback", json={"accepted": True}, headers=alice
    )
    assert accepted.status_code == 200, accepted.text
    after = client.get(f"/api/v1/tasks/{task['id']}", headers=alice).json()
    assert after["priority"] == suggestion["priority"]
    assert after["version"] > task["version"]


def test_a_new_task_gets_a_suggestion_from_its_event(gateway_users):
    client, alice, _ = gateway_users
    task = _create(client, alice, title="someday read a novel")
    deadline = time.monotonic() + 30
    while True:
        data = client.get(
            "/api/v1/suggestions", params={"task_id": task["id"]}, headers=alice
        ).json()["data"]
        if data:
            break
        assert time.monotonic() < deadline, "no suggestion arrived for the new task"
        time.sleep(0.3)
    assert data[0]["priority"] in ("none", "low")


def test_the_plan_puts_overdue_and_due_today_first(gateway_users):
    client, alice, _ = gateway_users
    soon = _create(
        client,
        alice,
        title="Call the bank",
        due_at=(datetime.now(UTC) + timedelta(minutes=30)).isoformat(),
    )
    tidy = _create(client, alice, title="Tidy the shared drive")
    plan = client.post("/api/v1/suggestions/plan", json={"limit": 50}, headers=alice)
    assert plan.status_code == 200, plan.text
    items = plan.json()["data"]
    assert items
    assert [i["rank"] for i in items] == list(range(1, len(items) + 1))
    ids = [i["task_id"] for i in items]
    assert ids.index(soon["id"]) < ids.index(tidy["id"])
    assert all(i["reason"] for i in items)
