"""The outbox relay against the real RabbitMQ: stop the broker while tasks are written, start
it again, and every event arrives, none twice."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import time
from collections import Counter
from pathlib import Path

import aio_pika
from sqlalchemy import func, select

from taskflow_common.messaging.amqp import EXCHANGE, AmqpEventBus
from taskflow_common.testing import require_component
from taskflow_common.testing.stack import AMQP_URL
from taskflow_tasks.application import commands as c
from taskflow_tasks.application.deps import Deps
from taskflow_tasks.application.handlers import CommandBus
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.outbox import OutboxRelay

REPO = Path(__file__).resolve().parents[4]


def _stack(*args: str) -> None:
    subprocess.run(
        [str(REPO / "scripts" / "stack"), *args], check=True, capture_output=True, timeout=300
    )


async def _declare_test_queue(name: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        # Expires when unused, so a run that fails before _drain deletes it leaves no queue
        # taking a copy of every later event (the fan-out bench refuses to run beside one).
        queue = await channel.declare_queue(name, durable=True, arguments={"x-expires": 600_000})
        await queue.bind(exchange, routing_key="tasks.#")


async def _drain(name: str, subject: str) -> list[str]:
    """Event ids in the queue (for this test's subject), consuming until it is empty."""
    ids: list[str] = []
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(name)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            envelope = json.loads(message.body)
            if envelope["subject"] == subject:
                ids.append(envelope["event_id"])
        await queue.delete(if_unused=False, if_empty=False)
    return ids


async def _pending(engine, subject: str) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                select(func.count())
                .select_from(t.outbox)
                .where(
                    t.outbox.c.sent_at.is_(None),
                    t.outbox.c.payload["subject"].as_string() == subject,
                )
            )
            or 0
        )


async def _event_ids(engine, subject: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(t.outbox.c.id).where(t.outbox.c.payload["subject"].as_string() == subject)
        )
        return [str(row[0]) for row in rows]


# The relay on the same asyncpg pool as the commands, as bootstrap builds it; it restarts the
# broker.
async def test_every_event_is_delivered_across_a_broker_restart(tasks_pg_db, tasks_pg_engine):
    require_component("rabbitmq")
    subject = f"relay-{secrets.token_hex(4)}"
    queue_name = f"taskflow.tasks-relay-test-{secrets.token_hex(4)}"
    await _declare_test_queue(queue_name)
    bus = AmqpEventBus(AMQP_URL, publish_timeout=5.0)
    await bus.start()
    relay = OutboxRelay(tasks_pg_db.pg, bus, poll_seconds=0.2, waker=tasks_pg_db.waker)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run_forever(stop))
    commands = CommandBus(Deps(uow=tasks_pg_db.uow))
    try:
        for i in range(5):
            await commands.handle(c.CreateTask(subject, {"title": f"before {i}"}))
        await asyncio.to_thread(_stack, "down", "rabbitmq")
        for i in range(20):
            created = await commands.handle(c.CreateTask(subject, {"title": f"during {i}"}))
            await commands.handle(c.UpdateTask(subject, created.task.id, {"priority": "high"}))
        await asyncio.sleep(1.0)
        assert await _pending(tasks_pg_engine, subject) > 0  # the broker is down: held back
        await asyncio.to_thread(_stack, "up", "rabbitmq")
        deadline = time.monotonic() + 120
        while await _pending(tasks_pg_engine, subject) and time.monotonic() < deadline:
            relay.waker.wake()
            await asyncio.sleep(0.5)
        assert await _pending(tasks_pg_engine, subject) == 0
    finally:
        stop.set()
        relay.waker.wake()
        await asyncio.wait_for(running, 30)
        await bus.close()
    delivered = await _drain(queue_name, subject)
    expected = await _event_ids(tasks_pg_engine, subject)
    assert len(expected) == 45
    # At least once: a publish in flight when the broker shut down may have been enqueued
    # without its confirm arriving, so the relay sends it again (consumers dedupe by event
    # id). Nothing may be missing or unknown, and only the five events published before the
    # shutdown can have been in flight then.
    duplicates = [event_id for event_id, n in Counter(delivered).items() if n > 1]
    assert set(delivered) == set(expected)
    assert len(duplicates) <= 5, duplicates
