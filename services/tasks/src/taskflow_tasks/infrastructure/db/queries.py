"""The read side on the process's asyncpg pool: one statement per request (two for a task's
activity), rows mapped straight to domain objects, each statement in autocommit (no BEGIN and
ROLLBACK round trips around a single read)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from taskflow_tasks.application.queries import (
    ActivityEntry,
    Cursor,
    LabelCount,
    Page,
    ProjectCursor,
    ProjectListQuery,
    ProjectPage,
    ProjectView,
    TaskListQuery,
)
from taskflow_tasks.domain.model import OPEN_STATUSES, Role, Task, label_key
from taskflow_tasks.infrastructure.db.mapping import project_from_row, task_from_row
from taskflow_tasks.infrastructure.db.pg_pool import PgPool
from taskflow_tasks.infrastructure.db.sql import COLUMNS
from taskflow_tasks.infrastructure.db.tracing import db_span

# Own tasks, and tasks of projects the user ($1) is a member of.
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
LABELS = (
    "SELECT min(l.value) AS label, count(*) AS tasks"  # noqa: S608
    " FROM tasks.tasks t CROSS JOIN LATERAL jsonb_array_elements_text(t.labels) AS l(value)"
    f" WHERE t.deleted_at IS NULL AND {VISIBLE}"
    " GROUP BY lower(l.value) ORDER BY count(*) DESC, lower(l.value)"
)
# A trashed task is gone from every per-task read, its history included, until it is restored
# (the trash listing, GET /tasks?deleted=true, is where it shows): the same rule as GET_ONE.
LIVE_VISIBLE_TASK = (
    f"SELECT true FROM tasks.tasks t WHERE t.id = $2 AND t.deleted_at IS NULL AND {VISIBLE}"  # noqa: S608
)
ACTIVITY = (
    "SELECT actor_id, at, action, changes FROM tasks.activity WHERE task_id = $1 ORDER BY at, id"
)
EXPORT = (
    f"SELECT {COLUMNS} FROM tasks.tasks t"  # noqa: S608
    f" WHERE t.deleted_at IS NULL AND {VISIBLE} ORDER BY t.created_at, t.id LIMIT $2"
)

# Projects with their members folded into one JSON object each (no row per member), for the
# page of ids the subquery {} selects, in id order.
_PROJECT_VIEWS = (
    "SELECT p.id, p.owner_id, p.name, p.description, p.version, p.created_at, p.updated_at,"
    " (SELECT json_object_agg(o.user_id, o.role) FROM tasks.members o WHERE o.project_id = p.id)"
    " AS member_roles"
    " FROM tasks.projects p JOIN ({}) page ON p.id = page.project_id ORDER BY p.id"
)
PROJECT = _PROJECT_VIEWS.format(
    "SELECT project_id FROM tasks.members WHERE user_id = $1 AND project_id = $2"
)
# Keyset on the project id (UUIDv7, so creation order; ADR 0108) from the (user_id,
# project_id) index, one row more than the page so a full last page is known to be the last.
PROJECTS_FIRST_PAGE = _PROJECT_VIEWS.format(
    "SELECT project_id FROM tasks.members WHERE user_id = $1 ORDER BY project_id LIMIT $2"
)
PROJECTS_AFTER = _PROJECT_VIEWS.format(
    "SELECT project_id FROM tasks.members WHERE user_id = $1 AND project_id > $3"
    " ORDER BY project_id LIMIT $2"
)


class PgTaskQueries:
    def __init__(self, pool: PgPool) -> None:
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

    async def labels(self, user_id: str) -> Sequence[LabelCount]:
        pool = await self._pg.pool()
        with db_span("SELECT", "SELECT tasks (labels)"):
            rows = await pool.fetch(LABELS, user_id)
        return [LabelCount(row["label"], row["tasks"]) for row in rows]

    async def activity(self, user_id: str, task_id: UUID) -> Sequence[ActivityEntry] | None:
        pool = await self._pg.pool()
        with db_span("SELECT", "SELECT activity"):
            async with pool.acquire() as conn:
                if await conn.fetchval(LIVE_VISIBLE_TASK, user_id, task_id) is None:
                    return None
                rows = await conn.fetch(ACTIVITY, task_id)
        return [ActivityEntry(r["actor_id"], r["at"], r["action"], r["changes"]) for r in rows]

    async def export(self, user_id: str, limit: int) -> Sequence[Task]:
        pool = await self._pg.pool()
        with db_span("SELECT", "SELECT tasks (export)"):
            rows = await pool.fetch(EXPORT, user_id, limit)
        return [task_from_row(row) for row in rows]


class PgProjectQueries:
    def __init__(self, pool: PgPool) -> None:
        self._pg = pool

    async def get_visible(self, user_id: str, project_id: UUID) -> ProjectView | None:
        views = await self._views(user_id, PROJECT, project_id)
        return views[0] if views else None

    async def list_visible(self, user_id: str, query: ProjectListQuery) -> ProjectPage:
        if query.cursor is None:
            views = await self._views(user_id, PROJECTS_FIRST_PAGE, query.limit + 1)
        else:
            views = await self._views(
                user_id, PROJECTS_AFTER, query.limit + 1, query.cursor.last_id
            )
        next_cursor = None
        if len(views) > query.limit:
            views = views[: query.limit]
            next_cursor = ProjectCursor(views[-1].project.id).encode()
        return ProjectPage(views, next_cursor)

    async def _views(self, user_id: str, statement: str, *params: Any) -> list[ProjectView]:
        pool = await self._pg.pool()
        with db_span("SELECT", "SELECT projects"):
            rows = await pool.fetch(statement, user_id, *params)
        views = []
        for row in rows:
            project = project_from_row(row, row["member_roles"] or {})
            views.append(ProjectView(project, project.members.get(user_id, Role.VIEWER)))
        return views


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
