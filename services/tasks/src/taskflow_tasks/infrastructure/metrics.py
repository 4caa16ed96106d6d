"""The tasks service's own gauges, refreshed from the database at most every few seconds."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge

from taskflow_tasks.domain.model import OPEN_STATUSES
from taskflow_tasks.infrastructure.db.pg_pool import PgPool

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


# One statement for the four gauges ($1 now, $2 the open statuses).
GAUGES = (
    "SELECT"
    " (SELECT count(*) FROM tasks.outbox WHERE sent_at IS NULL) AS backlog,"
    " (SELECT min(created_at) FROM tasks.outbox WHERE sent_at IS NULL) AS oldest,"
    " count(*) AS open_tasks,"
    " count(*) FILTER (WHERE due_at < $1) AS overdue_tasks"
    " FROM tasks.tasks WHERE deleted_at IS NULL AND status = ANY($2::text[])"
)
_OPEN = [s.value for s in OPEN_STATUSES]


class GaugeRefresher:
    def __init__(self, pool: PgPool, min_interval: float = 15.0) -> None:
        self._pg = pool
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
        current = datetime.now(UTC)
        row = await (await self._pg.pool()).fetchrow(GAUGES, current, _OPEN)
        assert row is not None  # an aggregate without GROUP BY returns one row
        oldest = row["oldest"]
        OUTBOX_BACKLOG.set(row["backlog"])
        OUTBOX_OLDEST_AGE.set((current - oldest).total_seconds() if oldest else 0.0)
        OPEN_TASKS.set(row["open_tasks"])
        OVERDUE_TASKS.set(row["overdue_tasks"])
