"""When the SDK sends a call again: 429/503 on calls that are safe to resend, never otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from taskflow_sdk import (
    NO_RETRIES,
    MemoryTokenStore,
    RateLimitedError,
    RetryPolicy,
    ServiceUnavailableError,
    TaskFlow,
    Tokens,
    TransportError,
)
from taskflow_sdk.retry import retry_after_seconds

TASK = {
    "id": "01a23d05-602b-72ea-9d8f-d270d1551941",
    "title": "Write report",
    "description": "",
    "status": "todo",
    "priority": "high",
    "due_at": None,
    "start_at": None,
    "completed_at": None,
    "labels": [],
    "project_id": None,
    "assignee_id": None,
    "parent_id": None,
    "owner_id": "u1",
    "recurrence": None,
    "reminders": [],
    "position": 1.0,
    "version": 1,
    "created_at": "2026-12-03T10:00:00+00:00",
    "updated_at": "2026-12-03T10:00:00+00:00",
}
PROBLEM = {"type": "about:blank", "title": "Too Many Requests", "status": 429}
IMMEDIATE = RetryPolicy(attempts=4, backoff=0.0, jitter=False)


def logged_in() -> MemoryTokenStore:
    return MemoryTokenStore(Tokens("access", "refresh", 4_102_444_800.0, 4_102_444_800.0))


def client(handler: httpx.MockTransport, retry: RetryPolicy = IMMEDIATE) -> TaskFlow:
    http = httpx.Client(base_url="http://gateway.test", transport=handler)
    return TaskFlow("http://gateway.test", token_store=logged_in(), retry=retry, http=http)


def test_a_create_resent_after_503_carries_the_same_idempotency_key() -> None:
    keys: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["idempotency-key"])
        if len(keys) < 3:
            return httpx.Response(503, headers={"Retry-After": "0"}, json=PROBLEM | {"status": 503})
        return httpx.Response(201, json=TASK, headers={"ETag": '"v1"'})

    task = client(httpx.MockTransport(answer)).tasks.create(title="Write report")

    assert task.etag == '"v1"'
    assert len(keys) == 3
    assert len(set(keys)) == 1


def test_each_create_gets_its_own_key() -> None:
    keys: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["idempotency-key"])
        return httpx.Response(201, json=TASK)

    tf = client(httpx.MockTransport(answer))
    tf.tasks.create(title="one")
    tf.tasks.create(title="two")

    assert keys[0] != keys[1]


def test_a_patch_is_never_resent() -> None:
    sent = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(503, json=PROBLEM | {"status": 503, "title": "Unavailable"})

    with pytest.raises(ServiceUnavailableError):
        client(httpx.MockTransport(answer)).tasks.update(TASK["id"], title="x")

    assert len(sent) == 1


def test_a_post_without_a_key_is_not_resent_after_a_lost_connection() -> None:
    sent = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        raise httpx.ConnectError("connection reset")

    with pytest.raises(TransportError):
        client(httpx.MockTransport(answer)).suggestions.priority(TASK["id"])

    assert len(sent) == 1


def test_a_get_is_resent_after_429_until_the_attempts_run_out() -> None:
    sent = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(429, headers={"Retry-After": "0"}, json=PROBLEM)

    with pytest.raises(RateLimitedError) as raised:
        client(httpx.MockTransport(answer)).tasks.get(TASK["id"])

    assert len(sent) == IMMEDIATE.attempts
    assert raised.value.retry_after == 0.0
    assert raised.value.title == "Too Many Requests"


def test_no_retries_sends_once() -> None:
    sent = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(503, json=PROBLEM | {"status": 503})

    with pytest.raises(ServiceUnavailableError):
        client(httpx.MockTransport(answer), NO_RETRIES).tasks.get(TASK["id"])

    assert len(sent) == 1


def test_retry_after_decides_the_wait() -> None:
    told = httpx.Response(429, headers={"Retry-After": "7"})

    assert IMMEDIATE.next_delay(1, True, told) == 7.0


def test_a_retry_after_beyond_the_ceiling_ends_the_retries() -> None:
    told = httpx.Response(429, headers={"Retry-After": "3600"})

    assert RetryPolicy(max_delay=30).next_delay(1, True, told) is None


def test_backoff_doubles_up_to_its_ceiling() -> None:
    policy = RetryPolicy(attempts=10, backoff=0.5, max_delay=3.0, jitter=False)

    assert [policy.next_delay(n, True, None) for n in (1, 2, 3, 4, 5)] == [0.5, 1, 2, 3, 3]


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)

    assert retry_after_seconds("Thu, 03 Dec 2026 10:00:12 GMT", now) == 12.0
    assert retry_after_seconds("soon", now) is None
