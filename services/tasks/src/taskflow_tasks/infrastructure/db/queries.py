"""The read side in SQL: one statement per request, rows mapped straight to domain objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

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
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.mapping import project_from_row, task_from_row

T = t.tasks
M = t.members
_OPEN = [s.value for s in OPEN_STATUSES]
MAX_SEARCH_WORDS = 10


def visible_to(user_id: str) -> ColumnElement[bool]:
    """Own tasks, and tasks of projects the user is a member of."""
    return or_(
        T.c.owner_id == user_id,
        T.c.project_id.in_(select(M.c.project_id).where(M.c.user_id == user_id)),
    )


def _search_vector() -> ColumnElement[Any]:
    # Written with literals so it matches the expression of the GIN index (migration 0001).
    document = T.c.title.op("||")(literal_column("' '")).op("||")(T.c.description)
    return func.to_tsvector(literal_column("'english'::regconfig"), document)


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """Reads are single statements: on Postgres they run in autocommit, which saves the
    BEGIN and the ROLLBACK-on-return round trips the pool would otherwise add to each."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


class SqlTaskQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = read_only(engine)
        self._postgres = engine.dialect.name == "postgresql"

    async def get_visible(self, user_id: str, task_id: UUID) -> Task | None:
        query = select(T).where(T.c.id == task_id, T.c.deleted_at.is_(None), visible_to(user_id))
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return task_from_row(row) if row is not None else None

    async def list_visible(self, user_id: str, query: TaskListQuery) -> Page:
        statement = self._filtered(select(T), user_id, query)
        statement = self._keyset(statement, query).limit(query.limit + 1)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        tasks = [task_from_row(row) for row in rows[: query.limit]]
        next_cursor = None
        if len(rows) > query.limit:
            next_cursor = Cursor.after(tasks[-1], query.sort).encode()
        return Page(tasks, next_cursor)

    async def labels(self, user_id: str) -> Sequence[LabelCount]:
        expand = "jsonb_array_elements_text" if self._postgres else "json_each"
        element = getattr(func, expand)(T.c.labels).table_valued("value").alias("label")
        key = func.lower(element.c.value)
        statement = (
            select(func.min(element.c.value), func.count())
            .select_from(T.join(element, true()))
            .where(T.c.deleted_at.is_(None), visible_to(user_id))
            .group_by(key)
            .order_by(func.count().desc(), key)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        return [LabelCount(label, count) for label, count in rows]

    async def activity(self, user_id: str, task_id: UUID) -> Sequence[ActivityEntry] | None:
        A = t.activity
        async with self._engine.connect() as conn:
            found = await conn.scalar(select(T.c.id).where(T.c.id == task_id, visible_to(user_id)))
            if found is None:
                return None
            rows = await conn.execute(
                select(A.c.actor_id, A.c.at, A.c.action, A.c.changes)
                .where(A.c.task_id == task_id)
                .order_by(A.c.at, A.c.id)
            )
            return [ActivityEntry(a, at, action, changes) for a, at, action, changes in rows]

    async def export(self, user_id: str, limit: int) -> Sequence[Task]:
        statement = (
            select(T)
            .where(T.c.deleted_at.is_(None), visible_to(user_id))
            .order_by(T.c.created_at, T.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        return [task_from_row(row) for row in rows]

    def _filtered(self, statement: Select[Any], user_id: str, q: TaskListQuery) -> Select[Any]:
        where: list[ColumnElement[bool]] = [visible_to(user_id)]
        where.append(T.c.deleted_at.is_not(None) if q.deleted else T.c.deleted_at.is_(None))
        if q.statuses:
            where.append(T.c.status.in_([s.value for s in q.statuses]))
        if q.priorities:
            where.append(T.c.priority.in_([p.rank for p in q.priorities]))
        for label in q.labels:
            where.append(self._has_label(label_key(label)))
        if q.project_id is not None:
            where.append(T.c.project_id == q.project_id)
        if q.assignee_id is not None:
            where.append(T.c.assignee_id == q.assignee_id)
        if q.parent_id is not None:
            where.append(T.c.parent_id == q.parent_id)
        if q.due_before is not None:
            where.append(T.c.due_at < q.due_before)
        if q.due_after is not None:
            where.append(T.c.due_at > q.due_after)
        if q.overdue is not None:
            overdue = and_(T.c.due_at < datetime.now(UTC), T.c.status.in_(_OPEN))
            where.append(overdue if q.overdue else ~overdue)
        if q.text:
            where.append(self._matches(q.text))
        return statement.where(*where)

    def _has_label(self, key: str) -> ColumnElement[bool]:
        if self._postgres:
            contains: ColumnElement[bool] = type_coerce(T.c.label_keys, JSONB).contains([key])
            return contains
        element = func.json_each(T.c.label_keys).table_valued("value")
        return exists(select(1).select_from(element).where(element.c.value == key))

    def _matches(self, text: str) -> ColumnElement[bool]:
        if self._postgres:
            query = func.websearch_to_tsquery(literal_column("'english'::regconfig"), text)
            return _search_vector().op("@@")(query)
        words = text.split()[:MAX_SEARCH_WORDS]
        if not words:
            return false()
        clauses = []
        for word in words:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append(
                or_(
                    T.c.title.ilike(pattern, escape="\\"),
                    T.c.description.ilike(pattern, escape="\\"),
                )
            )
        return and_(*clauses)

    def _keyset(self, statement: Select[Any], q: TaskListQuery) -> Select[Any]:
        """Order by the sort field (nulls last in both directions), then id; resume after the
        cursor's (value, id). Rows inserted meanwhile never shift a page boundary."""
        column = getattr(T.c, q.sort.field)
        nullable = q.sort.field == "due_at"
        desc = q.sort.descending
        ordered = column.desc() if desc else column.asc()
        by_id = T.c.id.desc() if desc else T.c.id.asc()
        order = [column.is_(None), ordered, by_id] if nullable else [ordered, by_id]
        statement = statement.order_by(*order)
        cursor = q.cursor
        if cursor is None:
            return statement
        if cursor.value is None:
            if not nullable:
                return statement.where(false())
            after_id = T.c.id < cursor.last_id if desc else T.c.id > cursor.last_id
            return statement.where(column.is_(None), after_id)
        value: Any = (
            cursor.value if q.sort.field == "priority" else datetime.fromisoformat(cursor.value)
        )
        pair = tuple_(column, T.c.id)
        after = pair < (value, cursor.last_id) if desc else pair > (value, cursor.last_id)
        if nullable:
            after = or_(after, column.is_(None))
        return statement.where(after)


class SqlProjectQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = read_only(engine)
        self._postgres = engine.dialect.name == "postgresql"

    async def get_visible(self, user_id: str, project_id: UUID) -> ProjectView | None:
        mine = select(M.c.project_id).where(M.c.user_id == user_id, M.c.project_id == project_id)
        views = await self._views(user_id, mine)
        return views[0] if views else None

    async def list_visible(self, user_id: str, query: ProjectListQuery) -> ProjectPage:
        """Keyset on the project id (UUIDv7, so creation order; ADR 0108): the
        page's ids come from the (user_id, project_id) index, one row more than the page so a
        full last page is known to be the last without a second query."""
        mine = select(M.c.project_id).where(M.c.user_id == user_id)
        if query.cursor is not None:
            mine = mine.where(M.c.project_id > query.cursor.last_id)
        mine = mine.order_by(M.c.project_id).limit(query.limit + 1)
        views = await self._views(user_id, mine)
        next_cursor = None
        if len(views) > query.limit:
            views = views[: query.limit]
            next_cursor = ProjectCursor(views[-1].project.id).encode()
        return ProjectPage(views, next_cursor)

    async def _views(self, user_id: str, ids: Select[Any]) -> list[ProjectView]:
        """The projects whose ids `ids` selects, in id order, with their members: one
        statement, members folded into one JSON object per project (no row per member)."""
        P = t.projects
        page = ids.subquery("page")
        other = M.alias("other")
        fold = func.json_object_agg if self._postgres else func.json_group_object
        members = (
            select(fold(other.c.user_id, other.c.role))
            .where(other.c.project_id == P.c.id)
            .scalar_subquery()
        )
        statement = (
            select(P, type_coerce(members, JSON).label("member_roles"))
            .select_from(P.join(page, P.c.id == page.c.project_id))
            .order_by(P.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        views = []
        for row in rows:
            project = project_from_row(row, row["member_roles"] or {})
            views.append(ProjectView(project, project.members.get(user_id, Role.VIEWER)))
        return views
