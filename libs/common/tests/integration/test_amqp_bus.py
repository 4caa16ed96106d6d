"""The AMQP adapter against the real RabbitMQ of the local stack."""

import asyncio
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import aio_pika
import pytest
from opentelemetry import trace
from redis.asyncio import Redis

from taskflow_common.events import new_envelope
from taskflow_common.events.contracts.tasks import TaskCreatedV1, TaskSnapshotV1
from taskflow_common.messaging import RetryPolicy, UnroutableEventError
from taskflow_common.messaging.amqp import AmqpEventBus, dead_letter_queue_name, queue_name
from taskflow_common.messaging.redis_store import RedisProcessedEvents
from taskflow_common.testing import require_component
from taskflow_common.testing.stack import AMQP_URL, REDIS_URL

ROOT = Path(__file__).resolve().parents[4]
FAST = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.05)


def created_event(title: str = "Write"):
    now = datetime.now(UTC)
    task = TaskSnapshotV1(
        id=str(uuid4()),
        owner_id="u1",
        title=title,
        status="todo",
        priority="none",
        version=1,
        created_at=now,
        updated_at=now,
    )
    return new_envelope(TaskCreatedV1(task=task), subject="u1")


@pytest.fixture
async def bus():
    require_component("rabbitmq")
    bus = AmqpEventBus(AMQP_URL, reconnect_interval=0.5)
    await bus.start()
    yield bus
    await bus.close()


@pytest.fixture
async def consumer_name():
    """A consumer (and its queues) of this test alone; deleted afterwards."""
    name = f"test-{uuid4().hex[:8]}"
    yield name
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for queue in (queue_name(name), dead_letter_queue_name(name)):
            await channel.queue_delete(queue)


async def wait_for(predicate, within=10.0):
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_a_published_event_is_confirmed_and_consumed(bus, consumer_name):
    received = []

    async def handler(envelope):
        received.append(envelope)

    await bus.subscribe(consumer_name, ["tasks.task.*.v1"], handler)
    event = created_event()

    await bus.publish(event)  # returns only after the broker's confirm

    await wait_for(lambda: received)
    assert received[0].event_id == event.event_id
    assert received[0].data == event.data


async def test_an_event_no_queue_is_bound_for_is_refused(bus):
    event = created_event().model_copy(update={"event_type": "nobody.listens.here.v1"})

    with pytest.raises(UnroutableEventError):
        await bus.publish(event)


async def test_a_handler_that_keeps_failing_sends_the_event_to_the_dlq(bus, consumer_name):
    attempts = []

    async def always_fails(envelope):
        attempts.append(envelope.event_id)
        raise RuntimeError("boom")

    await bus.subscribe(consumer_name, ["tasks.#"], always_fails, retry=FAST)
    event = created_event()
    await bus.publish(event)

    await wait_for(lambda: len(attempts) >= FAST.max_attempts)
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        dlq = await channel.declare_queue(dead_letter_queue_name(consumer_name), passive=True)
        message = None
        for _ in range(100):
            message = await dlq.get(fail=False)
            if message is not None:
                break
            await asyncio.sleep(0.05)
        assert message is not None, "the poison event never reached the DLQ"
        assert message.message_id == str(event.event_id)
        await message.ack()
    assert len(attempts) == FAST.max_attempts


async def test_a_duplicate_event_id_is_processed_once(consumer_name):
    require_component("rabbitmq")
    require_component("redis")
    redis = Redis.from_url(REDIS_URL)
    bus = AmqpEventBus(AMQP_URL, processed=RedisProcessedEvents(redis, ttl_seconds=300))
    await bus.start()
    handled = []

    async def handler(envelope):
        handled.append(envelope.event_id)

    await bus.subscribe(consumer_name, ["tasks.#"], handler)
    event = created_event()
    await bus.publish(event)
    await bus.publish(event)  # a redelivery of the same event, e.g. after a relay crash
    marker = created_event("marker")
    await bus.publish(marker)

    await wait_for(lambda: marker.event_id in handled)
    await asyncio.sleep(0.3)
    assert handled.count(event.event_id) == 1
    await bus.close()
    await redis.aclose()


async def test_trace_context_crosses_the_broker(bus, consumer_name, span_exporter):
    done = asyncio.Event()

    async def handler(envelope):
        done.set()

    await bus.subscribe(consumer_name, ["tasks.#"], handler)
    with trace.get_tracer("test").start_as_current_span("user action"):
        await bus.publish(created_event())
    await asyncio.wait_for(done.wait(), 10)
    await asyncio.sleep(0.1)

    spans = {s.name: s for s in span_exporter.get_finished_spans()}
    publish = spans["publish tasks.task.created.v1"]
    process = spans["process tasks.task.created.v1"]
    assert process.parent is not None
    assert process.parent.span_id == publish.context.span_id
    assert process.context.trace_id == spans["user action"].context.trace_id
    assert process.kind == trace.SpanKind.CONSUMER
    assert publish.kind == trace.SpanKind.PRODUCER


def stack(*args: str) -> None:
    subprocess.run([str(ROOT / "scripts" / "stack"), *args], check=True, timeout=300)


async def test_the_bus_reconnects_after_a_broker_restart(bus, consumer_name):
    received = []

    async def handler(envelope):
        received.append(envelope.event_id)

    await bus.subscribe(consumer_name, ["tasks.#"], handler)
    await asyncio.to_thread(stack, "down", "rabbitmq")
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - any failure, never a silent drop
            await bus.publish(created_event())
    finally:
        await asyncio.to_thread(stack, "up", "rabbitmq")

    event = created_event("after restart")
    for _ in range(60):  # the robust connection restores channel, queue and consumer
        try:
            await bus.publish(event)
            break
        except Exception:
            await asyncio.sleep(0.5)
    await wait_for(lambda: event.event_id in received, within=20)
