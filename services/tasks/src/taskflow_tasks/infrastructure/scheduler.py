"""Reminders and overdue notices: written to the outbox exactly once, whatever the replicas.

Each cycle locks due rows with FOR UPDATE SKIP LOCKED (Postgres), writes the events and marks
the rows fired in one transaction: a row is either fired and its event committed, or neither.
Two schedulers never take the same row; a restart resumes from what was committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, select, tuple_, update

from taskflow_tasks.domain.events import TaskDueSoon, TaskOverdue
from taskflow_tasks.domain.model import OPEN_STATUSES
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.mapping import task_from_row
from taskflow_tasks.infrastructure.db.uow import SqlUnitOfWork
from taskflow_tasks.infrastructure.metrics import OVERDUE_FIRED, REMINDERS_FIRED

log = logging.getLogger(__name__)
_OPEN = [s.value for s in OPEN_STATUSES]
HOUSEKEEPING_EVERY = timedelta(minutes=10)
SENT_OUTBOX_RETENTION = timedelta(days=7)


class ReminderScheduler:
    def __init__(
        self,
        uow_factory: Callable[[], SqlUnitOfWork],
        *,
        batch_size: int = 100,
        poll_seconds: float = 5.0,
        idempotency_ttl: timedelta = timedelta(hours=48),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._uow_factory = uow_factory
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._idempotency_ttl = idempotency_ttl
        self._clock = clock
        self._last_housekeeping: datetime | None = None

    async def run_once(self) -> int:
        """Fire what is due now; returns how many events were written."""
        now = self._clock()
        async with self._uow_factory() as uow:
            conn = uow.connection
            postgres = conn.dialect.name == "postgresql"
            fired = 0
            r, task = t.reminders.alias("r"), t.tasks.alias("task")
            query = (
                select(r.c.offset, r.c.fire_at, task)
                .join(task, task.c.id == r.c.task_id)
                .where(r.c.fired_at.is_(None), r.c.fire_at <= now)
                .order_by(r.c.fire_at)
                .limit(self._batch_size)
            )
            if postgres:
                query = query.with_for_update(skip_locked=True, of=r)
            keys = []
            for row in (await conn.execute(query)).mappings().all():
                keys.append((row["id"], row["offset"]))
                snapshot = task_from_row(row)
                # A reminder for a task already past due (the scheduler was down) is moot.
                if (
                    snapshot.is_open
                    and snapshot.deleted_at is None
                    and (snapshot.due_at is not None and snapshot.due_at > now)
                ):
                    uow.record(
                        TaskDueSoon(snapshot.owner_id, now, snapshot, row["offset"], row["fire_at"])
                    )
                    fired += 1
            REMINDERS_FIRED.inc(fired)
            if keys:
                R = t.reminders
                await conn.execute(
                    update(R).where(tuple_(R.c.task_id, R.c.offset).in_(keys)).values(fired_at=now)
                )
            fired += await self._fire_overdue(uow, now, postgres)
            if self._housekeeping_due(now):
                await self._housekeeping(uow, now)
            await uow.commit()
        return fired

    async def _fire_overdue(self, uow: SqlUnitOfWork, now: datetime, postgres: bool) -> int:
        T = t.tasks
        query = (
            select(T)
            .where(
                T.c.overdue_fired_at.is_(None),
                T.c.deleted_at.is_(None),
                T.c.status.in_(_OPEN),
                T.c.due_at <= now,
            )
            .order_by(T.c.due_at)
            .limit(self._batch_size)
        )
        if postgres:
            query = query.with_for_update(skip_locked=True)
        rows = (await uow.connection.execute(query)).mappings().all()
        for row in rows:
            snapshot = task_from_row(row)
            uow.record(TaskOverdue(snapshot.owner_id, now, snapshot))
        if rows:
            await uow.connection.execute(
                update(T)
                .where(T.c.id.in_([row["id"] for row in rows]))
                .values(overdue_fired_at=now)
            )
            OVERDUE_FIRED.inc(len(rows))
        return len(rows)

    def _housekeeping_due(self, now: datetime) -> bool:
        last = self._last_housekeeping
        return last is None or now - last >= HOUSEKEEPING_EVERY

    async def _housekeeping(self, uow: SqlUnitOfWork, now: datetime) -> None:
        """Forget idempotency keys past their TTL and published events past retention."""
        self._last_housekeeping = now
        conn = uow.connection
        await conn.execute(
            delete(t.idempotency_keys).where(
                t.idempotency_keys.c.created_at < now - self._idempotency_ttl
            )
        )
        await conn.execute(
            delete(t.outbox).where(
                and_(
                    t.outbox.c.sent_at.is_not(None),
                    t.outbox.c.sent_at < now - SENT_OUTBOX_RETENTION,
                )
            )
        )

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                written = await self.run_once()
            except Exception:
                log.exception("scheduler cycle failed")
                written = 0
            if written < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._poll_seconds)
