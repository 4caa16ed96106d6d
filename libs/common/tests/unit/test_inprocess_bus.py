import asyncio
from datetime import UTC, datetime

import pytest
from opentelemetry import trace

from taskflow_common.events import new_envelope
from taskflow_common.events.contracts.tasks import TaskCreatedV1, TaskSnapshotV1
from taskflow_common.messaging import (
    InMemoryProcessedEvents,
    InProcessEventBus,
    RetryPolicy,
    UnroutableEventError,
    topic_matches,
)

FAST = RetryPolicy(max_attempts=3, initial_delay=0.001, max_delay=0.001)


def created_event():
    now = datetime.now(UTC)
    task = TaskSnapshotV1(
        id="t1",
        owner_id="u1",
        title="Write",
        status="todo",
        priority="none",
        version=1,
        created_at=now,
        updated_at=now,
    )
    return new_envelope(TaskCreatedV1(task=task), subject="u1")


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("tasks.#", "tasks.task.created.v1", True),
        ("tasks.*.created.v1", "tasks.task.created.v1", True),
        ("tasks.*", "tasks.task.created.v1", False),
        ("#", "suggest.priority.suggested.v1", True),
        ("tasks.task.#", "tasks.project.created.v1", False),
        ("tasks.task.created.v1", "tasks.task.created.v1", True),
    ],
)
def test_topic_matching_follows_amqp_rules(pattern, key, matches):
    assert topic_matches(pattern, key) is matches


async def test_a_published_event_reaches_every_matching_consumer():
    bus = InProcessEventBus()
    seen: dict[str, list] = {"notify": [], "suggest": [], "other": []}
    for name, pattern in (
        ("notify", "tasks.#"),
        ("suggest", "tasks.task.*.v1"),
        ("other", "suggest.#"),
    ):

        async def handler(envelope, name=name):
            seen[name].append(envelope.event_id)

        await bus.subscribe(name, [pattern], handler)
    event = created_event()

    await bus.publish(event)
    await bus.drain()

    assert seen == {"notify": [event.event_id], "suggest": [event.event_id], "other": []}
    await bus.close()


async def test_a_failing_handler_is_retried_then_dead_lettered():
    bus = InProcessEventBus()
    attempts = []

    async def always_fails(envelope):
        attempts.append(envelope.event_id)
        raise RuntimeError("boom")

    await bus.subscribe("notify", ["tasks.#"], always_fails, retry=FAST)
    event = created_event()
    await bus.publish(event)
    await bus.drain()

    assert len(attempts) == 3
    assert bus.dead_letters == [("notify", event)]
    await bus.close()


async def test_a_handler_that_recovers_is_not_dead_lettered():
    bus = InProcessEventBus()
    attempts = []

    async def flaky(envelope):
        attempts.append(1)
        if len(attempts) < 2:
            raise RuntimeError("transient")

    await bus.subscribe("notify", ["tasks.#"], flaky, retry=FAST)
    await bus.publish(created_event())
    await bus.drain()

    assert len(attempts) == 2
    assert bus.dead_letters == []
    await bus.close()


async def test_a_duplicate_event_id_is_handled_once():
    bus = InProcessEventBus(processed=InMemoryProcessedEvents())
    handled = []

    async def handler(envelope):
        handled.append(envelope.event_id)

    await bus.subscribe("notify", ["tasks.#"], handler)
    event = created_event()
    await bus.publish(event)
    await bus.publish(event)
    await bus.drain()

    assert handled == [event.event_id]
    await bus.close()


async def test_mandatory_publishing_refuses_unroutable_events():
    bus = InProcessEventBus(mandatory=True)

    with pytest.raises(UnroutableEventError):
        await bus.publish(created_event())


async def test_the_consumer_span_is_a_child_of_the_publisher_span(span_exporter):
    bus = InProcessEventBus()
    done = asyncio.Event()

    async def handler(envelope):
        done.set()

    await bus.subscribe("notify", ["tasks.#"], handler)
    with trace.get_tracer("test").start_as_current_span("request"):
        await bus.publish(created_event())
    await asyncio.wait_for(done.wait(), 2)
    await bus.drain()

    spans = {s.name: s for s in span_exporter.get_finished_spans()}
    publish = spans["publish tasks.task.created.v1"]
    process = spans["process tasks.task.created.v1"]
    assert process.parent is not None
    assert process.parent.span_id == publish.context.span_id
    assert process.context.trace_id == spans["request"].context.trace_id
    await bus.close()


async def test_concurrent_deliveries_of_one_event_run_the_handler_once():
    from taskflow_common.messaging.dispatch import deliver

    processed = InMemoryProcessedEvents()
    calls = []

    async def slow(envelope):
        calls.append(envelope.event_id)
        await asyncio.sleep(0.3)

    event = created_event()
    results = await asyncio.gather(
        *(
            deliver(
                consumer="notify",
                envelope=event,
                headers={},
                handler=slow,
                retry=FAST,
                processed=processed,
                system="test",
            )
            for _ in range(3)
        )
    )

    assert results == [True, True, True]
    assert calls == [event.event_id]


async def test_a_delivery_that_gave_up_lets_a_redelivery_try_again():
    from taskflow_common.messaging.dispatch import deliver

    processed = InMemoryProcessedEvents()
    outcomes = iter([RuntimeError("down"), RuntimeError("down"), RuntimeError("down"), None])

    async def flaky(envelope):
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    event = created_event()
    first = await deliver(
        consumer="notify",
        envelope=event,
        headers={},
        handler=flaky,
        retry=FAST,
        processed=processed,
        system="test",
    )
    second = await deliver(
        consumer="notify",
        envelope=event,
        headers={},
        handler=flaky,
        retry=FAST,
        processed=processed,
        system="test",
    )

    assert (first, second) == (False, True)
    assert await processed.done("notify", event.event_id)
