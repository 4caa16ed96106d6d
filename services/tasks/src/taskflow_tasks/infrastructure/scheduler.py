"""Reminders and overdue notices: written to the outbox exactly once, whatever the replicas.

Each cycle locks due rows with FOR UPDATE SKIP LOCKED, writes the events and marks the rows
fired in one transaction (the commands' unit of work, whose connection runs these
statements): a row is either fired and its event committed, or neither. Two schedulers never
take the same row; a restart resumes from what was committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from taskflow_tasks.domain.events import TaskDueSoon, TaskOverdue
from taskflow_tasks.domain.model import OPEN_STATUSES
from taskflow_tasks.infrastructure.db.mapping import task_from_row
from taskflow_tasks.infrastructure.db.sql import COLUMNS, READ_FIELDS
from taskflow_tasks.infrastructure.db.uow import PgUnitOfWork
from taskflow_tasks.infrastructure.metrics import OVERDUE_FIRED, REMINDERS_FIRED

log = logging.getLogger(__name__)
_OPEN = [s.value for s in OPEN_STATUSES]
HOUSEKEEPING_EVERY = timedelta(minutes=10)
SENT_OUTBOX_RETENTION = timedelta(days=7)

_TASK_COLUMNS = ", ".join(f"task.{c}" for c in READ_FIELDS)
# $1 now, $2 the batch size. Only the reminder rows are locked: a command may hold the task.
DUE_REMINDERS = (
    f'SELECT r."offset", r.fire_at, {_TASK_COLUMNS}'  # noqa: S608
    " FROM tasks.reminders r JOIN tasks.tasks task ON task.id = r.task_id"
    " WHERE r.fired_at IS NULL AND r.fire_at <= $1"
    " ORDER BY r.fire_at LIMIT $2 FOR UPDATE OF r SKIP LOCKED"
)
REMINDERS_FIRED_AT = (
    "UPDATE tasks.reminders r SET fired_at = $1 FROM unnest($2::uuid[], $3::text[]) AS k(t, o)"
    ' WHERE r.task_id = k.t AND r."offset" = k.o'
)
# $1 now, $2 the open statuses, $3 the batch size.
DUE_OVERDUE = (
    f"SELECT {COLUMNS} FROM tasks.tasks"  # noqa: S608
    " WHERE overdue_fired_at IS NULL AND deleted_at IS NULL AND status = ANY($2::text[])"
    " AND due_at <= $1 ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED"
)
OVERDUE_FIRED_AT = "UPDATE tasks.tasks SET overdue_fired_at = $1 WHERE id = ANY($2::uuid[])"
FORGET_IDEMPOTENCY_KEYS = "DELETE FROM tasks.idempotency_keys WHERE created_at < $1"
FORGET_SENT_EVENTS = "DELETE FROM tasks.outbox WHERE sent_at IS NOT NULL AND sent_at < $1"


class ReminderScheduler:
    def __init__(
        self,
        uow_factory: Callable[[], PgUnitOfWork],
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
            fired = await self._fire_reminders(uow, now)
            fired += await self._fire_overdue(uow, now)
            if self._housekeeping_due(now):
                await self._housekeeping(uow, now)
            await uow.commit()
        return fired

    async def _fire_reminders(self, uow: PgUnitOfWork, now: datetime) -> int:
        conn = uow.connection
        rows = await conn.fetch(DUE_REMINDERS, now, self._batch_size)
        fired = 0
        for row in rows:
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
        if rows:
            task_ids = [row["id"] for row in rows]
            offsets = [row["offset"] for row in rows]
            await conn.execute(REMINDERS_FIRED_AT, now, task_ids, offsets)
        return fired

    async def _fire_overdue(self, uow: PgUnitOfWork, now: datetime) -> int:
        conn = uow.connection
        rows = await conn.fetch(DUE_OVERDUE, now, _OPEN, self._batch_size)
        for row in rows:
            snapshot = task_from_row(row)
            uow.record(TaskOverdue(snapshot.owner_id, now, snapshot))
        if rows:
            await conn.execute(OVERDUE_FIRED_AT, now, [row["id"] for row in rows])
            OVERDUE_FIRED.inc(len(rows))
        return len(rows)

    def _housekeeping_due(self, now: datetime) -> bool:
        last = self._last_housekeeping
        return last is None or now - last >= HOUSEKEEPING_EVERY

    async def _housekeeping(self, uow: PgUnitOfWork, now: datetime) -> None:
        """Forget idempotency keys past their TTL and published events past retention."""
        self._last_housekeeping = now
        await uow.connection.execute(FORGET_IDEMPOTENCY_KEYS, now - self._idempotency_ttl)
        await uow.connection.execute(FORGET_SENT_EVENTS, now - SENT_OUTBOX_RETENTION)

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
