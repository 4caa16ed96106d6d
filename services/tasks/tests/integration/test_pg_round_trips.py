"""What a write costs in statements on the real Postgres, and the outbox NOTIFY trigger."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import func, insert, select

from taskflow_tasks.application import commands as c
from taskflow_tasks.application.deps import Deps
from taskflow_tasks.application.handlers import CommandBus
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.events import OUTBOX_CHANNEL
from taskflow_tasks.infrastructure.db.pg_pool import asyncpg_dsn
from taskflow_tasks.infrastructure.db.uow import PgUnitOfWork

_REMINDERS_TABLE = re.compile(r"(FROM|INTO|UPDATE)\s+tasks\.reminders\b")


@contextmanager
def _statements(monkeypatch) -> Iterator[list[str]]:
    """The statements commands run in their units of work."""
    seen: list[str] = []
    with monkeypatch.context() as patch:
        _log_pg_statements(patch, seen)
        yield seen


def _log_pg_statements(patch, seen: list[str]) -> None:
    enter, exit_ = PgUnitOfWork.__aenter__, PgUnitOfWork.__aexit__

    def log(query) -> None:
        # Transaction control is not counted: what matters is the work inside.
        if query.query not in _TRANSACTION_CONTROL:
            seen.append(query.query)

    async def logged_enter(self):
        uow = await enter(self)
        uow.connection.add_query_logger(log)
        return uow

    async def logged_exit(self, *exc_info):
        self.connection.remove_query_logger(log)
        await exit_(self, *exc_info)

    patch.setattr(PgUnitOfWork, "__aenter__", logged_enter)
    patch.setattr(PgUnitOfWork, "__aexit__", logged_exit)


_TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK"}


async def _reminders(engine, task_id) -> dict[str, datetime]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(t.reminders.c.offset, t.reminders.c.fire_at).where(
                t.reminders.c.task_id == task_id
            )
        )
        return dict(rows.all())


async def _count(engine, table, **where) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    async with engine.connect() as conn:
        return int(await conn.scalar(query) or 0)


async def test_a_title_patch_issues_no_reminder_statement(
    tasks_pg_db, tasks_pg_engine, monkeypatch
):
    # given a task with a due date and two reminders
    bus = CommandBus(Deps(uow=tasks_pg_db.uow))
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    values = {"title": "before", "due_at": due, "reminders": ["PT1H", "P1D"]}
    task_id = (await bus.handle(c.CreateTask("trips-user", values))).task.id
    outbox_before = await _count(tasks_pg_engine, t.outbox)
    activity_before = await _count(tasks_pg_engine, t.activity, task_id=task_id)

    # when only its title changes
    with _statements(monkeypatch) as seen:
        await bus.handle(c.UpdateTask("trips-user", task_id, {"title": "after"}))

    # then: lock, update, and the outbox and activity rows in one statement; no NOTIFY
    assert not [s for s in seen if _REMINDERS_TABLE.search(s) or "NOTIFY" in s], seen
    assert len(seen) == 3, seen
    assert await _count(tasks_pg_engine, t.outbox) == outbox_before + 1
    assert await _count(tasks_pg_engine, t.activity, task_id=task_id) == activity_before + 1
    assert await _reminders(tasks_pg_engine, task_id) == {
        "PT1H": due - timedelta(hours=1),
        "P1D": due - timedelta(days=1),
    }


async def test_due_date_reminder_and_status_changes_still_keep_reminders_in_step(
    tasks_pg_db, tasks_pg_engine
):
    bus = CommandBus(Deps(uow=tasks_pg_db.uow))
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    values = {"title": "t", "due_at": due, "reminders": ["PT1H"]}
    task_id = (await bus.handle(c.CreateTask("trips-user", values))).task.id

    later = due + timedelta(days=1)
    await bus.handle(c.UpdateTask("trips-user", task_id, {"due_at": later}))
    assert await _reminders(tasks_pg_engine, task_id) == {"PT1H": later - timedelta(hours=1)}

    await bus.handle(c.UpdateTask("trips-user", task_id, {"reminders": ["PT1H", "P2D"]}))
    assert await _reminders(tasks_pg_engine, task_id) == {
        "PT1H": later - timedelta(hours=1),
        "P2D": later - timedelta(days=2),
    }

    await bus.handle(c.UpdateTask("trips-user", task_id, {"status": "done"}))
    assert await _reminders(tasks_pg_engine, task_id) == {}


async def _listen(url: str) -> tuple[asyncpg.Connection, asyncio.Queue[str]]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    received: asyncio.Queue[str] = asyncio.Queue()
    await conn.add_listener(
        OUTBOX_CHANNEL, lambda _c, _pid, channel, _p: received.put_nowait(channel)
    )
    return conn, received


def _outbox_row() -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "event_type": "tasks.test.v1",
        "payload": {"subject": "trigger-test"},
        "created_at": datetime.now(UTC),
        "sent_at": datetime.now(UTC),  # never for a relay to publish
        "attempts": 0,
    }


async def test_the_outbox_trigger_notifies_listeners_at_commit_only(
    tasks_pg_url, tasks_pg_db, tasks_pg_engine
):
    listener, received = await _listen(tasks_pg_url)
    try:
        # an insert that is rolled back notifies nobody
        async with tasks_pg_engine.connect() as conn:
            await conn.execute(insert(t.outbox).values(_outbox_row()))
            await conn.rollback()
        # an insert notifies at commit, not before
        async with tasks_pg_engine.connect() as conn:
            await conn.execute(insert(t.outbox).values(_outbox_row()))
            await asyncio.sleep(0.3)
            assert received.empty()
            await conn.commit()
        assert await asyncio.wait_for(received.get(), 5) == OUTBOX_CHANNEL
        await asyncio.sleep(0.1)
        assert received.empty()

        # and a command's commit wakes the relay through it
        bus = CommandBus(Deps(uow=tasks_pg_db.uow))
        await bus.handle(c.CreateTask("trigger-user", {"title": "wake the relay"}))
        assert await asyncio.wait_for(received.get(), 5) == OUTBOX_CHANNEL
    finally:
        await listener.close()
