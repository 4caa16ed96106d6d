"""Migrations, the unit of work and its outbox, and the scheduler on the real Postgres."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import func, inspect, select, text

from taskflow_tasks.application import commands as c
from taskflow_tasks.application.deps import Deps
from taskflow_tasks.application.handlers import CommandBus
from taskflow_tasks.domain.model import Task
from taskflow_tasks.infrastructure.db import migrate
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.engine import create_engine
from taskflow_tasks.infrastructure.scheduler import ReminderScheduler

from .conftest import create_database, database_url, drop_database  # type: ignore[import-not-found]


async def _tables(engine) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'tasks'")
        )
        return {row[0] for row in rows}


async def _outbox_triggers(engine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT tgname FROM pg_trigger "
                "WHERE tgrelid = 'tasks.outbox'::regclass AND NOT tgisinternal"
            )
        )
        return [row[0] for row in rows]


async def _outbox_columns(engine) -> set[str]:
    async with engine.connect() as conn:
        return set(
            await conn.run_sync(
                lambda sync: [
                    column["name"] for column in inspect(sync).get_columns("outbox", schema="tasks")
                ]
            )
        )


async def test_migrations_go_up_and_down_and_up_again():
    name = await asyncio.to_thread(create_database)
    engine = create_engine(database_url(name))
    try:
        await migrate.upgrade(engine)
        assert {
            "tasks",
            "projects",
            "members",
            "outbox",
            "reminders",
            "activity",
            "idempotency_keys",
            "alembic_version",
        } <= await _tables(engine)
        async with engine.connect() as conn:
            indexes = set(
                (
                    await conn.execute(
                        text("SELECT indexname FROM pg_indexes WHERE schemaname='tasks'")
                    )
                ).scalars()
            )
        assert {"ix_tasks_search", "ix_tasks_label_keys", "ix_outbox_unsent"} <= indexes
        assert await _outbox_triggers(engine) == ["outbox_notify"]
        assert "claimed_until" in await _outbox_columns(engine)
        await migrate.downgrade(engine, "0002")
        assert "claimed_until" not in await _outbox_columns(engine)
        assert await _outbox_triggers(engine) == ["outbox_notify"]
        await migrate.downgrade(engine, "0001")
        assert await _outbox_triggers(engine) == []
        await migrate.downgrade(engine)
        assert await _tables(engine) == {"alembic_version"}
        async with engine.connect() as conn:
            functions = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = 'tasks'"
                )
            )
        assert functions == 0
        await migrate.upgrade(engine)
        assert "tasks" in await _tables(engine)
        assert await _outbox_triggers(engine) == ["outbox_notify"]
        assert "claimed_until" in await _outbox_columns(engine)
    finally:
        await engine.dispose()
        await asyncio.to_thread(drop_database, name)


async def _outbox_count(engine, **where) -> int:
    query = select(func.count()).select_from(t.outbox)
    for column, value in where.items():
        query = query.where(getattr(t.outbox.c, column) == value)
    async with engine.connect() as conn:
        return int(await conn.scalar(query) or 0)


async def _write_then_crash(db) -> Task:
    async with db.uow() as uow:
        task = Task.create(
            owner_id="rollback-user", actor_id="rollback-user", now=datetime.now(UTC), title="x"
        )
        await uow.tasks.add(task)
        raise CrashBeforeCommit(task)


class CrashBeforeCommit(Exception):
    pass


async def test_a_rolled_back_transaction_emits_nothing(tasks_pg_db, tasks_pg_engine):
    before = await _outbox_count(tasks_pg_engine)
    with pytest.raises(CrashBeforeCommit) as crashed:
        await _write_then_crash(tasks_pg_db)
    task = crashed.value.args[0]
    assert await _outbox_count(tasks_pg_engine) == before
    async with tasks_pg_engine.connect() as conn:
        assert await conn.scalar(select(t.tasks.c.id).where(t.tasks.c.id == task.id)) is None


async def test_commands_write_their_events_with_the_requests_traceparent(
    tasks_pg_db, tasks_pg_engine
):
    user = f"trace-{secrets.token_hex(4)}"  # the database is shared by the session's tests
    bus = CommandBus(Deps(uow=tasks_pg_db.uow))
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        created = await bus.handle(c.CreateTask(user, {"title": "traced"}))
        trace_id = format(span.get_span_context().trace_id, "032x")
    await bus.handle(c.UpdateTask(user, created.task.id, {"status": "done"}))
    async with tasks_pg_engine.connect() as conn:
        rows = (
            await conn.execute(
                select(t.outbox.c.event_type, t.outbox.c.traceparent, t.outbox.c.payload)
                .where(t.outbox.c.payload["subject"].as_string() == user)
                .order_by(t.outbox.c.id)
            )
        ).all()
    assert [r.event_type for r in rows] == [
        "tasks.task.created.v1",
        "tasks.task.updated.v1",
        "tasks.task.completed.v1",
    ]
    assert rows[0].traceparent.split("-")[1] == trace_id
    assert rows[1].payload["data"]["changed_fields"] == ["completed_at", "status"]
    assert rows[2].payload["data"]["task"]["owner_id"] == user
    assert trace.get_current_span().get_span_context().is_valid is False


async def test_two_schedulers_fire_each_reminder_and_overdue_notice_exactly_once(
    tasks_pg_db, tasks_pg_engine
):
    owner = f"scheduler-{secrets.token_hex(4)}"
    bus = CommandBus(Deps(uow=tasks_pg_db.uow))
    now = datetime.now(UTC)
    ids = []
    for i in range(25):
        created = await bus.handle(
            c.CreateTask(
                owner,
                {
                    "title": f"r{i}",
                    "due_at": now + timedelta(minutes=10 + i),
                    "reminders": ["PT1H", "P1D"],
                },
            )
        )
        ids.append(created.task.id)

    later = now + timedelta(days=2)  # every due_at has passed: overdue notices are due too

    def scheduler(clock):
        return ReminderScheduler(tasks_pg_db.uow, batch_size=7, clock=clock)

    first = [scheduler(lambda: now), scheduler(lambda: now)]
    for _ in range(6):
        await asyncio.gather(*(s.run_once() for s in first))
    # a restart (new instances) and a later clock: due_soon is done, overdue fires once
    second = [scheduler(lambda: later), scheduler(lambda: later)]
    for _ in range(6):
        await asyncio.gather(*(s.run_once() for s in second))

    async with tasks_pg_engine.connect() as conn:
        rows = (
            await conn.execute(
                select(t.outbox.c.event_type, t.outbox.c.payload).where(
                    t.outbox.c.event_type.in_(["tasks.task.due_soon.v1", "tasks.task.overdue.v1"]),
                    t.outbox.c.payload["subject"].as_string() == owner,
                )
            )
        ).all()
    due_soon = [
        (r.payload["data"]["task"]["id"], r.payload["data"]["reminder"])
        for r in rows
        if r.event_type == "tasks.task.due_soon.v1"
    ]
    overdue = [
        r.payload["data"]["task"]["id"] for r in rows if r.event_type == "tasks.task.overdue.v1"
    ]
    # PT1H fires (its time has come); P1D had come too: both fire, each exactly once
    assert len(due_soon) == len(set(due_soon)) == 50
    assert sorted(overdue) == sorted(str(i) for i in ids)
