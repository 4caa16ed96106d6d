"""The tasks service's own gauges, refreshed from the database at most every few seconds."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from taskflow_tasks.domain.model import OPEN_STATUSES
from taskflow_tasks.infrastructure.db import tables as t

OUTBOX_BACKLOG = Gauge(
    "taskflow_tasks_outbox_backlog_events", "Outbox events written but not yet published."
)
OUTBOX_OLDEST_AGE = Gauge(
    "taskflow_tasks_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox event (0 when the outbox is empty).",
)
OPEN_TASKS = Gauge("taskflow_tasks_open_tasks", "Tasks not done, cancelled or deleted.")
OVERDUE_TASKS = Gauge("taskflow_tasks_overdue_tasks", "Open tasks whose due_at has passed.")
OUTBOX_PUBLISHED = Counter(
    "taskflow_tasks_outbox_published_events_total", "Outbox events the relay published."
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "taskflow_tasks_outbox_publish_failures_total", "Relay publish attempts that failed."
)
OUTBOX_UNROUTABLE = Counter(
    "taskflow_tasks_outbox_unroutable_events_total",
    "Events no queue was bound for after the grace period (marked sent, logged).",
)
REMINDERS_FIRED = Counter("taskflow_tasks_reminders_fired_total", "due_soon events written.")
OVERDUE_FIRED = Counter("taskflow_tasks_overdue_fired_total", "overdue events written.")


class GaugeRefresher:
    def __init__(self, engine: AsyncEngine, min_interval: float = 15.0) -> None:
        self._engine = engine
        self._min_interval = min_interval
        self._last: float | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last < self._min_interval:
                return
            self._last = now
            await self._refresh()

    async def _refresh(self) -> None:
        T, OB = t.tasks, t.outbox
        current = datetime.now(UTC)
        is_open = and_(T.c.deleted_at.is_(None), T.c.status.in_([s.value for s in OPEN_STATUSES]))
        async with self._engine.connect() as conn:
            backlog, oldest = (
                await conn.execute(
                    select(func.count(), func.min(OB.c.created_at)).where(OB.c.sent_at.is_(None))
                )
            ).one()
            open_count = await conn.scalar(select(func.count()).where(is_open))
            overdue_count = await conn.scalar(
                select(func.count()).where(is_open, T.c.due_at < current)
            )
        OUTBOX_BACKLOG.set(backlog or 0)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        OUTBOX_OLDEST_AGE.set((current - oldest).total_seconds() if oldest else 0.0)
        OPEN_TASKS.set(open_count or 0)
        OVERDUE_TASKS.set(overdue_count or 0)
