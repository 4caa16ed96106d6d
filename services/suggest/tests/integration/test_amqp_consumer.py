"""The `consume` role on the real RabbitMQ and Postgres: a task event in → a suggestion
stored and `suggest.priority.suggested.v1` published; redeliveries make no second one."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from suggest_queues import delete_queues, delete_stale_test_queues

from taskflow_common.events import new_envelope
from taskflow_common.events.contracts.tasks import TaskCreatedV1, TaskSnapshotV1, TaskUpdatedV1
from taskflow_common.messaging.amqp import AmqpEventBus, dead_letter_queue_name, queue_name
from taskflow_common.testing import require_component
from taskflow_common.testing.stack import AMQP_URL, REDIS_URL
from taskflow_suggest.bootstrap import run_consumer
from taskflow_suggest.config import Settings


def _queues(consumer: str) -> tuple[str, str]:
    return queue_name(consumer), dead_letter_queue_name(consumer)


def _snapshot(**overrides) -> TaskSnapshotV1:
    now = datetime.now(UTC)
    fields = {
        "id": str(uuid.uuid4()),
        "owner_id": "alice",
        "title": "Production outage: payments are down for customers",
        "status": "todo",
        "priority": "none",
        "due_at": now + timedelta(hours=2),
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    return TaskSnapshotV1(**{**fields, **overrides})


async def _stored_ids(url: str, task_id: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT id FROM suggest.suggestions WHERE task_id = $1", task_id)
    finally:
        await conn.close()
    return [r["id"] for r in rows]


async def _stored_id(url: str, task_id: str) -> str:
    """The one suggestion this test's consumer stored for the task (waits for it)."""
    async with asyncio.timeout(20.0):
        while not (ids := await _stored_ids(url, task_id)):  # noqa: ASYNC110 - polls a DB
            await asyncio.sleep(0.1)
    assert len(ids) == 1
    return ids[0]


@pytest.fixture
async def consuming(suggest_pg_url):
    require_component("rabbitmq")
    require_component("redis")
    delete_stale_test_queues()
    tag = secrets.token_hex(4)
    consumer, observer = f"suggest-test-{tag}", f"suggest-test-observer-{tag}"
    received: asyncio.Queue = asyncio.Queue()
    observer_bus = AmqpEventBus(AMQP_URL)
    await observer_bus.start()

    async def observe(envelope):
        await received.put(envelope)

    await observer_bus.subscribe(observer, ["suggest.priority.suggested.v1"], observe)
    settings = Settings(
        database_url=suggest_pg_url, redis_url=REDIS_URL, amqp_url=AMQP_URL, consumer_name=consumer
    )
    container = await run_consumer(settings)
    publisher = AmqpEventBus(AMQP_URL)
    await publisher.start()
    try:
        yield publisher, received
    finally:
        await publisher.close()
        await container.close()
        await observer_bus.close()
        delete_queues(*(n for c in (consumer, observer) for n in _queues(c)))


async def _next_for(received: asyncio.Queue, suggestion_id: str):
    """The next published event about this suggestion. (A running suite's own suggest
    consumer also answers the test's events, with suggestions stored in its database.)"""
    async with asyncio.timeout(20.0):
        while True:
            envelope = await received.get()
            if envelope.data["suggestion_id"] == suggestion_id:
                return envelope


async def test_a_created_task_gets_a_stored_and_published_suggestion(consuming, suggest_pg_url):
    publisher, received = consuming
    task = _snapshot()
    created = new_envelope(TaskCreatedV1(task=task), subject="alice")
    await publisher.publish(created)
    suggestion_id = await _stored_id(suggest_pg_url, task.id)
    event = await _next_for(received, suggestion_id)
    assert event.event_type == "suggest.priority.suggested.v1"
    assert event.subject == "alice"
    assert event.data["priority"] in ("high", "urgent")
    assert event.data["source"] == "heuristic"
    assert event.data["owner_id"] == "alice"
    assert event.data["task_id"] == task.id

    # The same event again (a redelivery): the same suggestion, the same outgoing event id.
    await publisher.publish(created)
    again = await _next_for(received, suggestion_id)
    assert again.event_id == event.event_id
    assert await _stored_ids(suggest_pg_url, task.id) == [suggestion_id]


async def test_only_title_description_or_due_changes_trigger_a_new_suggestion(
    consuming, suggest_pg_url
):
    publisher, received = consuming
    task = _snapshot(title="someday read a novel", due_at=None)
    await publisher.publish(
        new_envelope(
            TaskUpdatedV1(task=task, changed_fields=["labels", "priority"]), subject="alice"
        )
    )
    renamed = _snapshot(id=task.id, title="Outage: site down", due_at=None)
    await publisher.publish(
        new_envelope(TaskUpdatedV1(task=renamed, changed_fields=["title"]), subject="alice")
    )
    suggestion_id = await _stored_id(suggest_pg_url, task.id)
    event = await _next_for(received, suggestion_id)
    assert event.data["priority"] in ("high", "urgent")
    await asyncio.sleep(1.0)  # the ignored update had every chance to be handled too
    assert await _stored_ids(suggest_pg_url, task.id) == [suggestion_id]
