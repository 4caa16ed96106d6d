"""The administrators' read side on the process's asyncpg pool: every user's tasks.

Each sort order reads straight off one partial index over the live tasks (migration 0004),
so a page costs the same at the first row and at the 100,000th: the keyset condition is an
index condition, never a filter over the rows before it. `due_at` sorts with the tasks
without a due date last in both directions: its index key is the due date with a missing one
read as +infinity (ascending) or -infinity (descending).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from taskflow_tasks.application.admin_queries import (
    STATS_DAYS,
    AdminPage,
    AdminTaskListQuery,
    DayCount,
    TaskStats,
)
from taskflow_tasks.application.queries import Cursor, Sort
from taskflow_tasks.domain.model import OPEN_STATUSES, Priority, Status, Task
from taskflow_tasks.infrastructure.db.mapping import task_from_row
from taskflow_tasks.infrastructure.db.pg_pool import PgPool
from taskflow_tasks.infrastructure.db.queries import SEARCH
from taskflow_tasks.infrastructure.db.sql import COLUMNS
from taskflow_tasks.infrastructure.db.tracing import db_span

_OPEN = [s.value for s in OPEN_STATUSES]
GET_ANY = f"SELECT {COLUMNS} FROM tasks.tasks t WHERE t.id = $1"  # noqa: S608

# The index expression of each order (same text as migration 0004's indexes).
DUE_LAST_ASC = "COALESCE(t.due_at, 'infinity'::timestamptz)"
DUE_LAST_DESC = "COALESCE(t.due_at, '-infinity'::timestamptz)"

# Live tasks by status and priority, with the overdue ones ($1 now, $2 the open statuses).
STATS_COUNTS = (
    "SELECT status, priority, count(*) AS tasks,"
    " count(*) FILTER (WHERE due_at < $1 AND status = ANY($2::text[])) AS overdue"
    " FROM tasks.tasks WHERE deleted_at IS NULL GROUP BY status, priority"
)
# Live tasks created and completed per UTC day since $1.
STATS_PER_DAY = (
    "SELECT 'created' AS kind, (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n"
    " FROM tasks.tasks WHERE deleted_at IS NULL AND created_at >= $1 GROUP BY 2"
    " UNION ALL"
    " SELECT 'completed', (completed_at AT TIME ZONE 'UTC')::date, count(*)"
    " FROM tasks.tasks WHERE deleted_at IS NULL AND completed_at >= $1 GROUP BY 2"
)


def sort_key(sort: Sort) -> str:
    if sort.field == "due_at":
        return DUE_LAST_DESC if sort.descending else DUE_LAST_ASC
    return f"t.{sort.field}"


class AdminSql:
    """One list query's statements: the page, and the count of every match."""

    def __init__(self, query: AdminTaskListQuery, now: datetime) -> None:
        self.params: list[Any] = []
        where = ["t.deleted_at IS NOT NULL" if query.deleted else "t.deleted_at IS NULL"]
        where.extend(self._filters(query, now))
        filters = " AND ".join(where)
        self.count_params = list(self.params)
        self.count = f"SELECT count(*) FROM tasks.tasks t WHERE {filters}"  # noqa: S608

        key = sort_key(query.sort)
        direction = "DESC" if query.sort.descending else "ASC"
        if query.cursor is not None:
            comparison = "<" if query.sort.descending else ">"
            after = f"({key}, t.id) {comparison} ({self._cursor_key(query)}, "
            filters += f" AND {after}{self.bind(query.cursor.last_id)}::uuid)"
        self.page = (
            f"SELECT {COLUMNS} FROM tasks.tasks t WHERE {filters}"  # noqa: S608
            f" ORDER BY {key} {direction}, t.id {direction} LIMIT {self.bind(query.limit + 1)}"
        )

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def _filters(self, q: AdminTaskListQuery, now: datetime) -> list[str]:
        where = []
        if q.statuses:
            where.append(f"t.status = ANY({self.bind([s.value for s in q.statuses])}::text[])")
        if q.priorities:
            where.append(f"t.priority = ANY({self.bind([p.rank for p in q.priorities])}::int2[])")
        if q.project_id is not None:
            where.append(f"t.project_id = {self.bind(q.project_id)}")
        if q.owner_id is not None:
            where.append(f"t.owner_id = {self.bind(q.owner_id)}")
        if q.assignee_id is not None:
            where.append(f"t.assignee_id = {self.bind(q.assignee_id)}")
        if q.overdue is not None:
            overdue = (
                f"(t.due_at < {self.bind(now)} AND t.status = ANY({self.bind(_OPEN)}::text[]))"
            )
            where.append(overdue if q.overdue else f"NOT COALESCE({overdue}, false)")
        if q.text:
            where.append(SEARCH.format(self.bind(q.text)))
        return where

    def _cursor_key(self, q: AdminTaskListQuery) -> str:
        assert q.cursor is not None
        value = q.cursor.value
        if q.sort.field == "priority":
            return f"{self.bind(value)}::int2"
        moment = datetime.fromisoformat(value) if value is not None else None
        if q.sort.field == "due_at":
            infinity = "'-infinity'" if q.sort.descending else "'infinity'"
            return f"COALESCE({self.bind(moment)}::timestamptz, {infinity}::timestamptz)"
        return f"{self.bind(moment)}::timestamptz"


class PgAdminTaskQueries:
    def __init__(self, pool: PgPool) -> None:
        self._pg = pool

    async def get(self, task_id: UUID) -> Task | None:
        pool = await self._pg.pool()
        with db_span("SELECT", "SELECT tasks (admin one)"):
            row = await pool.fetchrow(GET_ANY, task_id)
        return task_from_row(row) if row is not None else None

    async def list(self, query: AdminTaskListQuery) -> AdminPage:
        sql = AdminSql(query, datetime.now(UTC))
        pool = await self._pg.pool()
        with db_span("SELECT", "SELECT tasks (admin page)"):
            rows, total = await asyncio.gather(
                pool.fetch(sql.page, *sql.params), pool.fetchval(sql.count, *sql.count_params)
            )
        tasks = [task_from_row(row) for row in rows[: query.limit]]
        next_cursor = None
        if len(rows) > query.limit:
            next_cursor = Cursor.after(tasks[-1], query.sort).encode()
        return AdminPage(tasks, next_cursor, int(total))

    async def stats(self) -> TaskStats:
        now = datetime.now(UTC)
        first_day = (now - timedelta(days=STATS_DAYS - 1)).date()
        since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
        pool = await self._pg.pool()
        with db_span("SELECT", "SELECT tasks (admin stats)"):
            counts, days = await asyncio.gather(
                pool.fetch(STATS_COUNTS, now, _OPEN), pool.fetch(STATS_PER_DAY, since)
            )
        return _stats(counts, days, first_day)


def _stats(counts: Sequence[Any], days: Sequence[Any], first_day: Any) -> TaskStats:
    by_status = dict.fromkeys((s.value for s in Status), 0)
    by_priority = dict.fromkeys((p.value for p in Priority), 0)
    overdue = 0
    for row in counts:
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["tasks"]
        priority = Priority.from_rank(row["priority"]).value
        by_priority[priority] += row["tasks"]
        overdue += row["overdue"]
    per_kind: dict[tuple[str, Any], int] = {(r["kind"], r["day"]): r["n"] for r in days}
    per_day = []
    for offset in range(STATS_DAYS):
        day = first_day + timedelta(days=offset)
        per_day.append(
            DayCount(day, per_kind.get(("created", day), 0), per_kind.get(("completed", day), 0))
        )
    return TaskStats(by_status, by_priority, overdue, per_day)
