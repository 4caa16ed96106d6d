"""The admin list stays fast on 100,000 tasks: PostgreSQL's own plans, read with EXPLAIN
ANALYZE on a seeded table, show each page as an index range scan reading about one page of
rows, at the first page and 90,000 rows deep, with no sort of the whole table."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from taskflow_tasks.application.admin_queries import AdminTaskListQuery
from taskflow_tasks.application.queries import Cursor, Sort
from taskflow_tasks.domain.model import Status
from taskflow_tasks.infrastructure.db import migrate
from taskflow_tasks.infrastructure.db.admin_queries import AdminSql, sort_key
from taskflow_tasks.infrastructure.db.mapping import task_from_row
from taskflow_tasks.infrastructure.db.sql import COLUMNS

from .conftest import create_database, database_url, drop_database

TASKS = 100_000
LIMIT = 50
DEEP = 90_000

# 1,000 owners; a third without a due date; statuses, priorities and due dates drawn at
# random (seeded: the same table every run), independent of each other.
SEED = """
INSERT INTO tasks.tasks (id, owner_id, title, description, status, priority, due_at,
    labels, label_keys, reminders, position, version, created_at, updated_at)
SELECT gen_random_uuid(), 'owner-' || (i % 1000), 'task ' || i, 'seeded',
    (ARRAY['todo', 'in_progress', 'done', 'cancelled'])[1 + floor(random() * 4)::int],
    floor(random() * 5)::int,
    CASE WHEN i % 3 = 0 THEN NULL ELSE now() + (random() * 400 - 200) * interval '1 day' END,
    '[]', '[]', '[]', 0, 1,
    now() - (i * interval '5 minutes'), now()
FROM generate_series(1, $1) AS i
"""


@pytest.fixture(scope="module")
def seeded_url(tasks_pg_url: str) -> Iterator[str]:
    """A database of its own, so the 100,000 rows weigh on no other test."""
    name = create_database()
    url = database_url(name)

    async def seed() -> None:
        await migrate.upgrade_database(url)
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("SELECT setseed(0.25)")
            await conn.execute(SEED, TASKS)
            await conn.execute("VACUUM ANALYZE tasks.tasks")
        finally:
            await conn.close()

    asyncio.run(seed())
    try:
        yield url
    finally:
        drop_database(name)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


async def _plan(url: str, query: AdminTaskListQuery) -> dict[str, Any]:
    sql = AdminSql(query, datetime.now(UTC))
    conn = await asyncpg.connect(url)
    try:
        raw = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql.page}", *sql.params)
    finally:
        await conn.close()
    return dict((json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"])


async def _cursor_at(url: str, sort: Sort, offset: int) -> Cursor:
    direction = "DESC" if sort.descending else "ASC"
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM tasks.tasks t WHERE t.deleted_at IS NULL"
            f" ORDER BY {sort_key(sort)} {direction}, t.id {direction} OFFSET $1 LIMIT 1",
            offset,
        )
    finally:
        await conn.close()
    assert row is not None
    return Cursor.after(task_from_row(row), sort)


@pytest.mark.parametrize(
    "sort", ["due_at", "-due_at", "priority", "-priority", "created_at", "-created_at"]
)
@pytest.mark.parametrize("deep", [False, True], ids=["first-page", "90000-deep"])
async def test_every_order_pages_off_an_index(seeded_url: str, sort: str, deep: bool) -> None:
    order = Sort.parse(sort)
    cursor = await _cursor_at(seeded_url, order, DEEP) if deep else None
    for statuses in ((), (Status.TODO, Status.IN_PROGRESS)):
        query = AdminTaskListQuery(statuses=statuses, sort=order, limit=LIMIT, cursor=cursor)
        plan = await _plan(seeded_url, query)
        kinds = [node["Node Type"] for node in _nodes(plan)]
        assert "Sort" not in kinds, kinds
        assert "Seq Scan" not in kinds, kinds
        scans = [n for n in _nodes(plan) if n["Node Type"] in ("Index Scan", "Index Only Scan")]
        assert len(scans) == 1, kinds
        assert scans[0]["Index Name"].startswith("ix_tasks_live_"), scans[0]["Index Name"]
        # About one page of rows read (the status filter skips half), not the 90,000 before.
        examined = scans[0]["Actual Rows"] + scans[0].get("Rows Removed by Filter", 0)
        assert examined <= 4 * (LIMIT + 1), examined
        assert plan["Actual Rows"] == LIMIT + 1
