"""The HTTP API end to end inside one process, wired as the embedded mode wires it: the
stack's PostgreSQL (a database per test), a fake tasks API in-process, the replay server as
the model, real RS256 tokens."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from suggest_fakes import ISSUER, TestKeys, fake_tasks_api

from taskflow_common.listeners import MetricsListenerSplit
from taskflow_suggest.bootstrap import create_app
from taskflow_suggest.config import Settings

PROBLEM = "application/problem+json"
# The app runs behind both listeners, as `serve` runs it: absolute URLs on this base reach
# its metrics port.
METRICS_PORT = 9100
METRICS = f"http://suggest:{METRICS_PORT}"


def _task(owner: str, title: str, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "id": str(uuid.uuid4()),
        "owner_id": owner,
        "title": title,
        "description": "",
        "status": "todo",
        "priority": "none",
        "labels": [],
        "due_at": None,
        "parent_id": None,
        "project_id": None,
        "assignee_id": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **extra,
    }


@pytest.fixture
def suggest_keys() -> TestKeys:
    return TestKeys()


@pytest.fixture
def suggest_tasks() -> dict[str, dict[str, Any]]:
    return {}


async def _client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=MetricsListenerSplit(app, METRICS_PORT))
        async with httpx.AsyncClient(transport=transport, base_url="http://suggest") as client:
            yield client


@pytest.fixture
async def api(suggest_pg_url, suggest_keys, suggest_tasks, suggest_replay_server):
    settings = Settings(
        mode="embedded",
        database_url=suggest_pg_url,
        oidc_issuer=ISSUER,
        llm_base_url=suggest_replay_server.base_url,
        llm_model="replay-ok",
        llm_timeout_seconds=2.0,
    )
    app = create_app(
        settings, jwks=suggest_keys.jwks, tasks_app=fake_tasks_api(suggest_keys, suggest_tasks)
    )
    async for client in _client(app):
        yield client


@pytest.fixture
async def heuristic_api(suggest_pg_url, suggest_keys, suggest_tasks):
    settings = Settings(mode="embedded", database_url=suggest_pg_url, oidc_issuer=ISSUER)
    app = create_app(
        settings, jwks=suggest_keys.jwks, tasks_app=fake_tasks_api(suggest_keys, suggest_tasks)
    )
    async for client in _client(app):
        yield client


def _auth(keys: TestKeys, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.token(user)}"}


async def test_a_draft_gets_a_heuristic_suggestion_when_no_model_is_configured(
    heuristic_api, suggest_keys
):
    due = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    response = await heuristic_api.post(
        "/api/v1/suggestions/priority",
        json={"title": "Production outage: API down", "due_at": due, "labels": ["incident"]},
        headers=_auth(suggest_keys, "alice"),
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {
        "id",
        "task_id",
        "priority",
        "rationale",
        "confidence",
        "suggested_due_at",
        "source",
        "model",
        "created_at",
    }
    assert body["source"] == "heuristic"
    assert body["model"] is None
    assert body["priority"] in ("high", "urgent")
    assert body["task_id"] is None


async def test_a_task_suggestion_comes_from_the_model_and_is_listed(
    api, suggest_keys, suggest_tasks
):
    task = _task("alice", "Outage: checkout down for customers")
    suggest_tasks[task["id"]] = task
    alice = _auth(suggest_keys, "alice")
    response = await api.post(
        "/api/v1/suggestions/priority", json={"task_id": task["id"]}, headers=alice
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["source"], body["model"], body["task_id"]) == ("llm", "replay-ok", task["id"])
    second = await api.post(
        "/api/v1/suggestions/priority", json={"task_id": task["id"]}, headers=alice
    )
    listed = await api.get(
        "/api/v1/suggestions", params={"task_id": task["id"], "limit": 1}, headers=alice
    )
    assert listed.status_code == 200
    page = listed.json()
    assert [s["id"] for s in page["data"]] == [second.json()["id"]]  # latest first
    assert page["next_cursor"]
    rest = await api.get(
        "/api/v1/suggestions",
        params={"task_id": task["id"], "cursor": page["next_cursor"]},
        headers=alice,
    )
    assert [s["id"] for s in rest.json()["data"]] == [body["id"]]
    assert rest.json()["next_cursor"] is None


async def test_another_users_task_is_a_404_everywhere(api, suggest_keys, suggest_tasks):
    task = _task("alice", "Private thing")
    suggest_tasks[task["id"]] = task
    mine = await api.post(
        "/api/v1/suggestions/priority",
        json={"task_id": task["id"]},
        headers=_auth(suggest_keys, "alice"),
    )
    bob = _auth(suggest_keys, "bob")
    for response in (
        await api.post("/api/v1/suggestions/priority", json={"task_id": task["id"]}, headers=bob),
        await api.get("/api/v1/suggestions", params={"task_id": task["id"]}, headers=bob),
        await api.post(
            f"/api/v1/suggestions/{mine.json()['id']}/feedback",
            json={"accepted": True},
            headers=bob,
        ),
        await api.post("/api/v1/suggestions/priority", json={"task_id": "not-a-uuid"}, headers=bob),
        await api.post("/api/v1/suggestions/priority", json={"task_id": "../../x"}, headers=bob),
        await api.get("/api/v1/suggestions", params={"task_id": "a?b=c"}, headers=bob),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith(PROBLEM)
    assert suggest_tasks[task["id"]]["priority"] == "none"


async def test_accepting_applies_the_priority_to_the_task_and_rejecting_does_not(
    api, suggest_keys, suggest_tasks
):
    task = _task("alice", "Outage: checkout down for customers")
    suggest_tasks[task["id"]] = task
    alice = _auth(suggest_keys, "alice")
    made = (
        await api.post("/api/v1/suggestions/priority", json={"task_id": task["id"]}, headers=alice)
    ).json()
    rejected = await api.post(
        f"/api/v1/suggestions/{made['id']}/feedback", json={"accepted": False}, headers=alice
    )
    assert rejected.status_code == 200
    assert suggest_tasks[task["id"]]["priority"] == "none"
    accepted = await api.post(
        f"/api/v1/suggestions/{made['id']}/feedback", json={"accepted": True}, headers=alice
    )
    assert accepted.status_code == 200
    assert accepted.json()["accepted"] is True
    assert suggest_tasks[task["id"]]["priority"] == made["priority"]
    assert suggest_tasks[task["id"]]["version"] == 2
    metrics = (await api.get(f"{METRICS}/metrics")).text
    assert "taskflow_suggest_acceptance_ratio" in metrics
    assert 'taskflow_suggest_feedback_total{outcome="accepted"}' in metrics


async def test_a_project_viewer_may_ask_but_not_accept(api, suggest_keys, suggest_tasks):
    task = _task("alice", "Shared task", _viewers=["bob"])
    suggest_tasks[task["id"]] = task
    bob = _auth(suggest_keys, "bob")
    made = await api.post("/api/v1/suggestions/priority", json={"task_id": task["id"]}, headers=bob)
    assert made.status_code == 200
    accept = await api.post(
        f"/api/v1/suggestions/{made.json()['id']}/feedback", json={"accepted": True}, headers=bob
    )
    assert accept.status_code == 403
    assert accept.headers["content-type"].startswith(PROBLEM)


async def test_the_plan_ranks_the_callers_open_tasks(api, suggest_keys, suggest_tasks):
    now = datetime.now(UTC)
    for task in (
        _task("alice", "someday read a novel"),
        _task("alice", "Pay the electricity bill", due_at=(now - timedelta(hours=3)).isoformat()),
        _task("alice", "Server down in production, customers affected"),
        _task("alice", "Finished", status="done"),
        _task("bob", "Bob's outage"),
    ):
        suggest_tasks[task["id"]] = task
    response = await api.post("/api/v1/suggestions/plan", headers=_auth(suggest_keys, "alice"))
    assert response.status_code == 200
    items = response.json()["data"]
    assert [i["title"] for i in items] == [
        "Pay the electricity bill",
        "Server down in production, customers affected",
        "someday read a novel",
    ]
    assert [i["rank"] for i in items] == [1, 2, 3]
    assert all(i["reason"] for i in items)
    limited = await api.post(
        "/api/v1/suggestions/plan", json={"limit": 1}, headers=_auth(suggest_keys, "alice")
    )
    assert len(limited.json()["data"]) == 1


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/v1/suggestions/priority", {}, 422),
        ("/api/v1/suggestions/priority", {"task_id": "x", "title": "y"}, 422),
        ("/api/v1/suggestions/priority", {"title": "   "}, 422),
        ("/api/v1/suggestions/priority", {"title": "x" * 201}, 422),
        ("/api/v1/suggestions/priority", {"title": "t", "labels": ["a"] * 21}, 422),
        ("/api/v1/suggestions/priority", {"title": "t", "due_at": "tomorrow"}, 422),
        ("/api/v1/suggestions/priority", {"title": "t", "due_at": "2026-12-01T10:00:00"}, 422),
        ("/api/v1/suggestions/priority", {"title": "t", "unknown": 1}, 422),
        ("/api/v1/suggestions/priority", "not json", 400),
        ("/api/v1/suggestions/plan", {"limit": 0}, 422),
        ("/api/v1/suggestions/plan", {"timezone": "Mars/Olympus"}, 422),
        (
            "/api/v1/suggestions/0190a0a0-0000-7000-8000-000000000000/feedback",
            {"accepted": "yes"},
            422,
        ),
    ],
)
async def test_bad_input_is_a_clear_4xx_problem(heuristic_api, suggest_keys, path, body, status):
    headers = _auth(suggest_keys, "alice")
    if isinstance(body, str):
        response = await heuristic_api.post(
            path, content=body, headers={**headers, "Content-Type": "application/json"}
        )
    else:
        response = await heuristic_api.post(path, json=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_a_bad_cursor_is_a_400_and_a_missing_token_a_401(heuristic_api, suggest_keys):
    bad = await heuristic_api.get(
        "/api/v1/suggestions", params={"cursor": "!!nope"}, headers=_auth(suggest_keys, "a")
    )
    assert bad.status_code == 400
    anonymous = await heuristic_api.post("/api/v1/suggestions/priority", json={"title": "t"})
    assert anonymous.status_code == 401
    forged = await heuristic_api.post(
        "/api/v1/suggestions/priority",
        json={"title": "t"},
        headers={"Authorization": "Bearer x.y.z"},
    )
    assert forged.status_code == 401


async def test_ops_endpoints(heuristic_api):
    assert (await heuristic_api.get("/healthz")).status_code == 200
    ready = await heuristic_api.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    detailed = await heuristic_api.get(f"{METRICS}/readyz")
    assert detailed.json()["checks"]["database"] == "ok"
    assert (await heuristic_api.get("/metrics")).status_code == 404
    metrics = (await heuristic_api.get(f"{METRICS}/metrics")).text
    assert "taskflow_suggest_fallbacks_total" in metrics


async def test_a_failing_tasks_api_is_a_503_problem_not_a_500(suggest_pg_url, suggest_keys):
    async def broken(scope, receive, send):
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b"boom"})

    settings = Settings(mode="embedded", database_url=suggest_pg_url, oidc_issuer=ISSUER)
    app = create_app(settings, jwks=suggest_keys.jwks, tasks_app=broken)
    async for client in _client(app):
        headers = _auth(suggest_keys, "alice")
        response = await client.post(
            "/api/v1/suggestions/priority", json={"task_id": str(uuid.uuid4())}, headers=headers
        )
        assert response.status_code == 503
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.headers["retry-after"]
        plan = await client.post("/api/v1/suggestions/plan", headers=headers)
        assert plan.status_code == 503


def _metric(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


async def test_the_same_draft_twice_is_answered_from_the_cache(
    api, suggest_keys, suggest_replay_server
):
    alice = _auth(suggest_keys, "alice")
    draft = {"title": f"Renew the TLS certificate {uuid.uuid4()}"}
    before_calls = len(suggest_replay_server.calls("replay-ok"))
    scrape = (await api.get(f"{METRICS}/metrics")).text
    before_hits = _metric(scrape, "taskflow_suggest_cache_hits_total")
    first = await api.post("/api/v1/suggestions/priority", json=draft, headers=alice)
    second = await api.post("/api/v1/suggestions/priority", json=draft, headers=alice)
    assert first.json()["source"] == second.json()["source"] == "llm"
    assert first.json()["id"] != second.json()["id"]  # two suggestions, one model call
    assert len(suggest_replay_server.calls("replay-ok")) - before_calls == 1
    metrics = (await api.get(f"{METRICS}/metrics")).text
    assert _metric(metrics, "taskflow_suggest_cache_hits_total") - before_hits == 1
    assert "taskflow_suggest_model_latency_seconds_bucket" in metrics
