"""Publish on commit (ADR 106) on the real Postgres and RabbitMQ: the web process publishes its
own events, marks them in batches, and leaves the relay what it could not publish."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import aio_pika
import asyncpg
import httpx
import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from taskflow_common.events.envelope import Envelope
from taskflow_common.messaging.amqp import EXCHANGE, AmqpEventBus, BusUnavailableError
from taskflow_common.testing import require_component
from taskflow_common.testing.stack import AMQP_URL
from taskflow_tasks.application import commands as c
from taskflow_tasks.application.deps import Deps
from taskflow_tasks.application.handlers import CommandBus
from taskflow_tasks.bootstrap import Database, create_app
from taskflow_tasks.infrastructure.db import migrate
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.engine import create_engine
from taskflow_tasks.infrastructure.db.uow import OUTBOX_CHANNEL
from taskflow_tasks.infrastructure.outbox import OutboxRelay, OutboxWaker
from taskflow_tasks.infrastructure.publisher import CommitPublisher

from .conftest import create_database, database_url, drop_database  # type: ignore[import-not-found]

_MARK = "UPDATE tasks.outbox SET sent_at"


@pytest.fixture
async def own_db() -> AsyncIterator[tuple[str, AsyncEngine]]:
    """A database of its own: the relay runs here publish whatever is pending."""
    require_component("postgres")
    name = await asyncio.to_thread(create_database)
    url = database_url(name)
    engine = create_engine(url, pool_size=5)
    try:
        await migrate.upgrade(engine)
        yield url, engine
    finally:
        await engine.dispose()
        await asyncio.to_thread(drop_database, name)


class FakeBus:
    """Records what it published; fails or hangs when told to."""

    def __init__(self) -> None:
        self.published: list[UUID] = []
        self.fail = False
        self.hang = False

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def is_healthy(self) -> bool:
        return True

    async def publish(self, envelope: Envelope[Any], headers: dict[str, str] | None = None):
        if self.hang:
            await asyncio.Event().wait()
        if self.fail:
            raise BusUnavailableError("broker unreachable")
        await asyncio.sleep(0)
        self.published.append(envelope.event_id)


async def _outbox(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(select(t.outbox).order_by(t.outbox.c.id)))


async def _until(condition: Callable[[], Any], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@asynccontextmanager
async def _app(
    url: str, jwks: dict[str, Any], settings_for: Callable[..., Any], bus: Any = None, **settings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings_for(url, publish_on_commit=True, **settings), bus=bus, jwks=lambda: jwks
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tasks.test") as client:
            yield client


async def _create_and_patch(client: httpx.AsyncClient, users_for) -> tuple[str, float]:
    """A task created and renamed through the API; the subject, and the PATCH's duration."""
    user = users_for(client)
    task = await user.create_task(title="before")
    started = time.monotonic()
    response = await user.patch(
        f"/api/v1/tasks/{task['id']}", json={"title": "after"}, headers={"If-Match": "*"}
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    return user.sub, elapsed


async def test_a_patch_is_published_by_the_web_process_and_the_relay_finds_nothing(
    own_db, tasks_jwks, tasks_settings_for, users_for
):
    require_component("rabbitmq")
    url, engine = own_db
    # given a queue of this test's own on the exchange, and the app with a real AMQP bus
    queue_name = f"taskflow.tasks-publish-test-{secrets.token_hex(4)}"
    connection = await aio_pika.connect(AMQP_URL)
    bus = AmqpEventBus(AMQP_URL, publish_timeout=5.0)
    await bus.start()
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(queue_name, auto_delete=True)
        await queue.bind(exchange, routing_key="tasks.task.#")

        # when a task is created and patched
        async with _app(url, tasks_jwks, tasks_settings_for, bus=bus) as client:
            subject, _ = await _create_and_patch(client, users_for)

            # then both events arrive on the queue
            async def arrived() -> list[str]:
                types = []
                while (message := await queue.get(no_ack=True, fail=False)) is not None:
                    envelope = json.loads(message.body)
                    if envelope["subject"] == subject:
                        types.append(envelope["event_type"])
                received.extend(types)
                return [name for name in received if name == "tasks.task.updated.v1"]

            received: list[str] = []
            await _until(arrived)
            assert received == ["tasks.task.created.v1", "tasks.task.updated.v1"]

            # and the rows end up marked sent, their claims cleared
            async def marked() -> bool:
                rows = await _outbox(engine)
                return len(rows) == 2 and all(row.sent_at is not None for row in rows)

            await _until(marked)
            assert all(row.claimed_until is None for row in await _outbox(engine))
    finally:
        await bus.close()
        await connection.close()

    # and a relay finds nothing to publish
    relay_bus = FakeBus()
    assert await OutboxRelay(engine, relay_bus).run_once() == 0
    assert relay_bus.published == []


async def test_a_write_costs_the_same_statements_and_marks_are_batched(own_db):
    _, engine = own_db
    bus = FakeBus()
    publisher = CommitPublisher(engine, bus, mark_interval=0.05)
    publisher.start()
    publisher.bus_connected()
    db = Database(engine, None, OutboxWaker(), publisher)
    commands = CommandBus(Deps(uow=db.uow))
    try:
        task_id = (await commands.handle(c.CreateTask("marks-user", {"title": "t"}))).task.id
        await asyncio.sleep(0.2)  # its mark goes out

        # when one PATCH: lock, update, outbox and activity rows: 3 statements, as before
        with _statements(engine) as seen:
            await commands.handle(c.UpdateTask("marks-user", task_id, {"title": "one"}))
        assert len(seen) == 3, seen
        assert "claimed_until" in seen[-1], seen[-1]

        # when 40 PATCHes in quick succession
        with _statements(engine) as seen:
            for i in range(40):
                await commands.handle(c.UpdateTask("marks-user", task_id, {"title": f"t{i}"}))

            async def all_marked() -> bool:
                rows = await _outbox(engine)
                return all(row.sent_at is not None for row in rows)

            await _until(all_marked)
        # then each costs its 3 statements, and the marks of all 40 are a handful of UPDATEs
        marks = [s for s in seen if s.lstrip().startswith(_MARK)]
        writes = [s for s in seen if not s.lstrip().startswith(_MARK)]
        assert len([s for s in writes if "INSERT INTO tasks.activity" in s]) == 40
        assert len(marks) <= 10, len(marks)
        print(f"40 PATCHes: {len(writes)} write statements, {len(marks)} mark statements")
        assert len(bus.published) == 42
        assert bus.published == sorted(bus.published)
    finally:
        await publisher.close()


async def test_a_failing_broker_leaves_the_rows_to_the_relay_and_the_patch_succeeds(
    own_db, tasks_jwks, tasks_settings_for, users_for
):
    url, engine = own_db
    # given a bus that is up but whose publishes fail
    bus = FakeBus()
    bus.fail = True
    async with _app(url, tasks_jwks, tasks_settings_for, bus=bus) as client:
        await asyncio.sleep(0.05)  # the publisher sees the bus connected

        # when a task is created (its publish fails) and patched (during the cool-down)
        _, elapsed = await _create_and_patch(client, users_for)

        # then the PATCH succeeded at once, and both rows are released, unsent
        assert elapsed < 1.0

        async def released() -> bool:
            rows = await _outbox(engine)
            return len(rows) == 2 and all(row.claimed_until is None for row in rows)

        await _until(released)
        assert all(row.sent_at is None for row in await _outbox(engine))

    # and a relay publishes them
    relay_bus = FakeBus()
    assert await OutboxRelay(engine, relay_bus).run_once() == 2
    assert relay_bus.published == [row.id for row in await _outbox(engine)]


async def test_an_unreachable_broker_does_not_stop_the_api(
    own_db, tasks_jwks, tasks_settings_for, users_for
):
    url, engine = own_db
    # given the app's own AMQP bus pointed at a closed port
    async with _app(
        url, tasks_jwks, tasks_settings_for, amqp_url="amqp://guest:guest@127.0.0.1:9/"
    ) as client:
        # when a task is created and patched
        _, elapsed = await _create_and_patch(client, users_for)
        assert elapsed < 1.0
    # then the rows were left unclaimed, for the relay
    rows = await _outbox(engine)
    assert len(rows) == 2
    assert all(row.claimed_until is None and row.sent_at is None for row in rows)
    relay_bus = FakeBus()
    assert await OutboxRelay(engine, relay_bus).run_once() == 2


async def test_a_hanging_publish_times_out_and_releases_what_is_queued(own_db):
    _, engine = own_db
    bus = FakeBus()
    bus.hang = True
    publisher = CommitPublisher(engine, bus, publish_timeout=0.3, mark_interval=0.02)
    publisher.start()
    publisher.bus_connected()
    commands = CommandBus(Deps(uow=Database(engine, None, OutboxWaker(), publisher).uow))
    try:
        started = time.monotonic()
        for i in range(3):
            await commands.handle(c.CreateTask("hang-user", {"title": f"t{i}"}))
        assert time.monotonic() - started < 0.3  # nobody waited for the publish
        assert all(row.claimed_until is not None for row in await _outbox(engine))

        async def released() -> bool:
            return all(row.claimed_until is None for row in await _outbox(engine))

        await _until(released)
        # and during the cool-down new rows are written unclaimed
        assert publisher.claim_lease() is None
        await commands.handle(c.CreateTask("hang-user", {"title": "later"}))
        assert all(row.claimed_until is None for row in await _outbox(engine))
    finally:
        await publisher.close()
    relay_bus = FakeBus()
    assert await OutboxRelay(engine, relay_bus).run_once() == 4


async def test_closing_publishes_what_is_queued_and_flushes_the_marks(own_db):
    _, engine = own_db
    bus = FakeBus()
    publisher = CommitPublisher(engine, bus, mark_interval=10.0)  # marks only at close
    publisher.start()
    publisher.bus_connected()
    commands = CommandBus(Deps(uow=Database(engine, None, OutboxWaker(), publisher).uow))
    for i in range(4):
        await commands.handle(c.CreateTask("close-user", {"title": f"t{i}"}))
    # (an event with no activity row: the outbox insert on its own)
    await commands.handle(c.CreateProject("close-user", "p"))
    assert all(row.claimed_until is not None for row in await _outbox(engine))
    await publisher.close()
    rows = await _outbox(engine)
    assert len(rows) == 6  # the project's created and member_added included
    assert all(row.sent_at is not None and row.claimed_until is None for row in rows)
    assert bus.published == [row.id for row in rows]


async def test_rows_of_a_publisher_that_died_go_out_from_the_relay_after_the_lease(own_db):
    _, engine = own_db
    # given a publisher that claims rows with a short lease but never publishes (never started)
    lease = timedelta(seconds=2)
    publisher = CommitPublisher(engine, FakeBus(), lease=lease)
    publisher.bus_connected()
    commands = CommandBus(Deps(uow=Database(engine, None, OutboxWaker(), publisher).uow))
    await commands.handle(c.CreateTask("dead-user", {"title": "t"}))
    written = time.monotonic()
    relay_bus = FakeBus()
    relay = OutboxRelay(engine, relay_bus)

    # when the relay runs before the lease is over, it leaves the row alone
    assert await relay.run_once() == 0
    assert time.monotonic() - written < lease.total_seconds()

    # and after it, it publishes it
    await asyncio.sleep(lease.total_seconds() - (time.monotonic() - written) + 0.3)
    assert await relay.run_once() == 1
    assert len(relay_bus.published) == 1


def _outbox_row(claimed_until: datetime | None) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "event_type": "tasks.test.v1",
        "payload": {"subject": "trigger-test"},
        "created_at": datetime.now(UTC),
        "sent_at": datetime.now(UTC),  # never for a relay to publish
        "attempts": 0,
        "claimed_until": claimed_until,
    }


async def test_the_trigger_notifies_for_unclaimed_rows_only(own_db):
    url, engine = own_db
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    listener = await asyncpg.connect(dsn)
    received: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(OUTBOX_CHANNEL, lambda *_: received.put_nowait("notified"))
    try:
        # a claimed row notifies nobody
        later = datetime.now(UTC) + timedelta(seconds=30)
        async with engine.begin() as conn:
            await conn.execute(insert(t.outbox).values(_outbox_row(later)))
        # nor does a commit of a process that publishes on commit
        publisher = CommitPublisher(engine, FakeBus())
        publisher.bus_connected()
        commands = CommandBus(Deps(uow=Database(engine, None, OutboxWaker(), publisher).uow))
        await commands.handle(c.CreateTask("trigger-user", {"title": "claimed"}))
        await asyncio.sleep(0.5)
        assert received.empty()

        # an unclaimed row notifies, once per transaction however many rows
        async with engine.begin() as conn:
            await conn.execute(insert(t.outbox), [_outbox_row(None) for _ in range(3)])
        assert await asyncio.wait_for(received.get(), 5) == "notified"
        await asyncio.sleep(0.2)
        assert received.empty()
    finally:
        await listener.close()
