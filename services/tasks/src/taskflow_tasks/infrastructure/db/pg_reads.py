"""The hot reads (one task, a page of tasks) on Postgres straight through an asyncpg pool.

SQLAlchemy Core costs about a millisecond of CPU per statement here (compilation cache
lookup, greenlet hops, per-column result processing), several times the query itself; these
two endpoints are most of the traffic, so they skip it. Same SQL semantics as
queries.SqlTaskQueries, which still serves SQLite and the colder reads (measured: see
docs/benchmarks.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from taskflow_tasks.application.queries import Cursor, Page, TaskListQuery
from taskflow_tasks.domain.model import OPEN_STATUSES, Task, label_key
from taskflow_tasks.infrastructure.db.mapping import task_from_row
from taskflow_tasks.infrastructure.db.pg_pool import PgPool
from taskflow_tasks.infrastructure.db.queries import SqlTaskQueries
from taskflow_tasks.infrastructure.db.tracing import db_span

COLUMNS = (
    "id, owner_id, project_id, assignee_id, parent_id, title, description, status, priority,"
    " due_at, start_at, completed_at, labels, recurrence, series_start, next_occurrence_id,"
    " reminders, position, version, created_at, updated_at, deleted_at"
)
VISIBLE = (
    "(t.owner_id = $1 OR t.project_id IN (SELECT project_id FROM tasks.members WHERE user_id = $1))"
)
# Same expression as the GIN index ix_tasks_search (migration 0001).
SEARCH = (
    "to_tsvector('english'::regconfig, (t.title::text || ' ') || t.description)"
    " @@ websearch_to_tsquery('english'::regconfig, {})"
)
_OPEN = [s.value for s in OPEN_STATUSES]
# Statements are assembled from the constant fragments above only; every value is bound.
GET_ONE = (
    f"SELECT {COLUMNS} FROM tasks.tasks t"  # noqa: S608
    f" WHERE t.id = $2 AND t.deleted_at IS NULL AND {VISIBLE}"
)


class PgTaskQueries(SqlTaskQueries):
    def __init__(self, engine: AsyncEngine, pool: PgPool) -> None:
        super().__init__(engine)
        self._pg = pool

    async def get_visible(self, user_id: str, task_id: UUID) -> Task | None:
        pool = await self._pg.pool()
        with db_span("SELECT", "SELECT tasks (one)"):
            row = await pool.fetchrow(GET_ONE, user_id, task_id)
        return task_from_row(row) if row is not None else None

    async def list_visible(self, user_id: str, query: TaskListQuery) -> Page:
        sql, params = list_sql(user_id, query)
        pool = await self._pg.pool()
        with db_span("SELECT", "SELECT tasks (page)"):
            rows = await pool.fetch(sql, *params)
        tasks = [task_from_row(row) for row in rows[: query.limit]]
        next_cursor = None
        if len(rows) > query.limit:
            next_cursor = Cursor.after(tasks[-1], query.sort).encode()
        return Page(tasks, next_cursor)


def list_sql(user_id: str, q: TaskListQuery) -> tuple[str, list[Any]]:
    """The list statement and its parameters; every value is a bind parameter."""
    params: list[Any] = [user_id]

    def bind(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    where = [VISIBLE, "t.deleted_at IS NOT NULL" if q.deleted else "t.deleted_at IS NULL"]
    if q.statuses:
        where.append(f"t.status = ANY({bind([s.value for s in q.statuses])}::text[])")
    if q.priorities:
        where.append(f"t.priority = ANY({bind([p.rank for p in q.priorities])}::int2[])")
    for label in q.labels:
        where.append(f"t.label_keys @> {bind([label_key(label)])}::jsonb")
    if q.project_id is not None:
        where.append(f"t.project_id = {bind(q.project_id)}")
    if q.assignee_id is not None:
        where.append(f"t.assignee_id = {bind(q.assignee_id)}")
    if q.parent_id is not None:
        where.append(f"t.parent_id = {bind(q.parent_id)}")
    if q.due_before is not None:
        where.append(f"t.due_at < {bind(q.due_before)}")
    if q.due_after is not None:
        where.append(f"t.due_at > {bind(q.due_after)}")
    if q.overdue is not None:
        overdue = (
            f"(t.due_at < {bind(datetime.now(UTC))} AND t.status = ANY({bind(_OPEN)}::text[]))"
        )
        where.append(overdue if q.overdue else f"NOT COALESCE({overdue}, false)")
    if q.text:
        where.append(SEARCH.format(bind(q.text)))

    column = f"t.{q.sort.field}"
    direction = "DESC" if q.sort.descending else "ASC"
    nullable = q.sort.field == "due_at"
    cursor = q.cursor
    if cursor is not None:
        comparison = "<" if q.sort.descending else ">"
        if cursor.value is None:
            if nullable:
                where.append(f"({column} IS NULL AND t.id {comparison} {bind(cursor.last_id)})")
            else:
                where.append("false")
        else:
            value: Any = (
                cursor.value if q.sort.field == "priority" else datetime.fromisoformat(cursor.value)
            )
            after = f"({column}, t.id) {comparison} ({bind(value)}, {bind(cursor.last_id)})"
            where.append(f"({after} OR {column} IS NULL)" if nullable else after)
    order = f"{column} {direction}, t.id {direction}"
    if nullable:
        order = f"({column} IS NULL), {order}"
    sql = (
        f"SELECT {COLUMNS} FROM tasks.tasks t WHERE {' AND '.join(where)}"  # noqa: S608
        f" ORDER BY {order} LIMIT {bind(q.limit + 1)}"
    )
    return sql, params
