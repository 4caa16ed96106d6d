"""The tasks API adapter: reads as the caller, follows cursors, maps statuses to outcomes."""

from __future__ import annotations

import uuid

import httpx
import pytest

from taskflow_suggest.application.errors import (
    TaskChangeForbiddenError,
    TaskNotFoundError,
    TasksUnavailableError,
)
from taskflow_suggest.application.ports import Caller
from taskflow_suggest.infrastructure.tasks_api import HttpTasksClient

CALLER = Caller("alice", "token-a")
TASK_ID = str(uuid.uuid4())


def _task(task_id: str, title: str = "t") -> dict:
    return {
        "id": task_id,
        "title": title,
        "status": "todo",
        "priority": "high",
        "due_at": "2026-12-01T10:00:00Z",
        "created_at": "2026-11-01T10:00:00Z",
        "labels": ["x"],
        "parent_id": None,
        "owner_id": "alice",
    }


def _client(handler) -> HttpTasksClient:
    return HttpTasksClient(
        httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://t")
    )


async def test_get_forwards_the_callers_token_and_counts_open_subtasks():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith(TASK_ID):
            return httpx.Response(200, json=_task(TASK_ID))
        return httpx.Response(
            200, json={"data": [_task(str(uuid.uuid4()))] * 2, "next_cursor": None}
        )

    facts = await _client(handler).get(CALLER, TASK_ID)
    assert facts is not None
    assert facts.due_at is not None
    assert facts.due_at.tzinfo is not None
    assert (facts.priority, facts.labels, facts.open_subtasks) == ("high", ("x",), 2)
    assert all(r.headers["authorization"] == "Bearer token-a" for r in seen)
    assert seen[1].url.params.get("parent_id") == TASK_ID


@pytest.mark.parametrize("status", [401, 403, 404, 422])
async def test_what_the_caller_cannot_see_is_none(status):
    assert await _client(lambda r: httpx.Response(status)).get(CALLER, TASK_ID) is None


async def test_upstream_failures_and_garbage_are_unavailable_not_crashes():
    with pytest.raises(TasksUnavailableError):
        await _client(lambda r: httpx.Response(502)).get(CALLER, TASK_ID)
    with pytest.raises(TasksUnavailableError):
        await _client(lambda r: httpx.Response(200, json=["not", "a", "task"])).get(CALLER, TASK_ID)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TasksUnavailableError):
        await _client(refuse).open_tasks(CALLER, 10)


async def test_open_tasks_follow_the_cursor():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "next":
            return httpx.Response(
                200, json={"data": [_task(str(uuid.uuid4()), "b")], "next_cursor": None}
            )
        return httpx.Response(
            200, json={"data": [_task(str(uuid.uuid4()), "a")], "next_cursor": "next"}
        )

    tasks = await _client(handler).open_tasks(CALLER, 50)
    assert [t.title for t in tasks] == ["a", "b"]


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, TaskNotFoundError), (403, TaskChangeForbiddenError), (500, TasksUnavailableError)],
)
async def test_set_priority_maps_statuses(status, error):
    with pytest.raises(error):
        await _client(lambda r: httpx.Response(status)).set_priority(CALLER, TASK_ID, "high")


async def test_set_priority_sends_a_merge_patch():
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=_task(TASK_ID))

    await _client(handler).set_priority(CALLER, TASK_ID, "urgent")
    assert sent[0].method == "PATCH"
    assert sent[0].headers["content-type"] == "application/merge-patch+json"
    assert sent[0].read() == b'{"priority":"urgent"}'
