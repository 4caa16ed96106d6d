"""The repository the composition root builds for Postgres (SQLAlchemy, with the consumer's
`record_for_event` on asyncpg) and the Alembic migrations, on the real Postgres."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import event

from taskflow_common.ids import uuid7
from taskflow_suggest.bootstrap import build_container, build_repository
from taskflow_suggest.config import Settings
from taskflow_suggest.domain.model import Suggestion
from taskflow_suggest.infrastructure.db import migrate
from taskflow_suggest.infrastructure.db.engine import make_engine
from taskflow_suggest.infrastructure.db.repository import PgSuggestionRepository


def _suggestion(
    task_id: str | None = None, user: str = "alice", event: str | None = None
) -> Suggestion:
    return Suggestion(
        id=str(uuid7()),
        task_id=task_id,
        requested_by=user,
        priority="high",
        rationale="Due tomorrow.",
        confidence=0.7,
        suggested_due_at=datetime.now(UTC) + timedelta(days=1),
        source="heuristic",
        model=None,
        created_at=datetime.now(UTC),
        source_event_id=event,
    )


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'suggest'")
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


async def test_migrations_go_up_down_and_up_again_in_the_suggest_schema(suggest_pg_url):
    await asyncio.to_thread(migrate.upgrade, suggest_pg_url)
    assert await _tables(suggest_pg_url) == {
        "suggestions",
        "feedback",
        "task_versions",
        "alembic_version",
    }
    await asyncio.to_thread(migrate.downgrade, suggest_pg_url)
    assert await _tables(suggest_pg_url) == {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, suggest_pg_url)
    await asyncio.to_thread(migrate.upgrade, suggest_pg_url)  # idempotent
    assert "suggestions" in await _tables(suggest_pg_url)


async def test_processes_migrating_at_once_do_not_trip_over_each_other(suggest_pg_url):
    env = {**os.environ, "TASKFLOW_DATABASE_URL": suggest_pg_url, "OTEL_SDK_DISABLED": "true"}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "taskflow_suggest",
            "migrate",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    results = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err.decode()[-500:] for _, err in results]
    assert "suggestions" in await _tables(suggest_pg_url)


@pytest.fixture
async def repository(suggest_pg_url):
    await asyncio.to_thread(migrate.upgrade, suggest_pg_url)
    engine = make_engine(suggest_pg_url)
    built, close = build_repository(Settings(database_url=suggest_pg_url), engine)
    assert isinstance(built, PgSuggestionRepository)
    assert close is not None
    yield built
    await close()
    await engine.dispose()


async def test_store_read_and_page_latest_first(repository):
    task_id = str(uuid.uuid4())
    made = [await repository.add(_suggestion(task_id)) for _ in range(5)]
    await repository.add(_suggestion(str(uuid.uuid4())))
    loaded = await repository.get(made[0].id)
    assert loaded == made[0]
    assert loaded.created_at.tzinfo is not None
    first = await repository.list_for_task(task_id, limit=3, before_id=None)
    assert [s.id for s in first] == [s.id for s in reversed(made)][:3]
    rest = await repository.list_for_task(task_id, limit=3, before_id=first[-1].id)
    assert [s.id for s in rest] == [made[1].id, made[0].id]
    assert await repository.get(str(uuid.uuid4())) is None


async def test_one_suggestion_per_source_event_even_under_concurrency(repository):
    event = str(uuid.uuid4())
    results = await asyncio.gather(*(repository.add(_suggestion(event=event)) for _ in range(4)))
    assert len({r.id for r in results}) == 1
    assert (await repository.by_source_event(event)).id == results[0].id


async def test_recording_for_an_event_is_one_statement_that_knows_the_previous_advice(
    repository, suggest_pg_url
):
    task_id = str(uuid.uuid4())
    first = await repository.record_for_event(_suggestion(task_id, event=str(uuid.uuid4())))
    assert first.previous_priority is None
    calmer = replace(_suggestion(task_id, event=str(uuid.uuid4())), priority="low")

    sqlalchemy_statements = []
    engine = make_engine(suggest_pg_url, pre_ping=False)
    listen = event.listens_for(engine.sync_engine, "before_cursor_execute")
    listen(lambda _conn, _cursor, sql, *_rest: sqlalchemy_statements.append(sql))
    counted = PgSuggestionRepository(engine, suggest_pg_url, pool_size=1)
    statements = []
    async with (await counted.pool()).acquire() as conn:  # the pool's one connection
        conn.add_query_logger(lambda record: statements.append(record.query))
    second = await counted.record_for_event(calmer)
    again = await counted.record_for_event(replace(calmer, id=str(uuid7()), priority="urgent"))
    await counted.close()
    await engine.dispose()

    assert second.suggestion == calmer
    assert second.previous_priority == "high"
    # A redelivery gets the stored suggestion back, with the same previous advice.
    assert again == second
    # One each on asyncpg: no BEGIN, COMMIT, pre-ping or reset-on-release round trips.
    assert len(statements) == 2
    assert sqlalchemy_statements == []
    assert [
        s.priority for s in await repository.list_for_task(task_id, limit=9, before_id=None)
    ] == [
        "low",
        "high",
    ]


async def test_a_delivery_that_loses_the_race_reads_the_winners_suggestion_afresh(
    repository, suggest_pg_url
):
    """Another delivery of the event commits while this one's insert waits on it: the
    statement's snapshot sees neither row, so the repository reads the committed one."""
    task_id, event_id = str(uuid.uuid4()), str(uuid.uuid4())
    await repository.record_for_event(_suggestion(task_id, event=str(uuid.uuid4())))
    winner = replace(_suggestion(task_id, event=event_id), priority="medium")
    other = await asyncpg.connect(suggest_pg_url)
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.execute(
            "INSERT INTO suggest.suggestions (id, task_id, requested_by, priority, rationale,"
            " confidence, suggested_due_at, source, model, created_at, source_event_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            winner.id,
            winner.task_id,
            winner.requested_by,
            winner.priority,
            winner.rationale,
            winner.confidence,
            winner.suggested_due_at,
            winner.source,
            winner.model,
            winner.created_at,
            winner.source_event_id,
        )
        loser = asyncio.create_task(
            repository.record_for_event(_suggestion(task_id, event=event_id))
        )
        async with asyncio.timeout(10):
            while not await _waits_on_a_lock(other):  # noqa: ASYNC110 - polls a DB
                await asyncio.sleep(0.02)
        await transaction.commit()
        recorded = await loser
    finally:
        await other.close()
    assert recorded.suggestion == winner
    assert recorded.previous_priority == "high"


async def _waits_on_a_lock(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    )


async def test_the_container_records_events_on_its_pool_and_closes_it(suggest_pg_url):
    await asyncio.to_thread(migrate.upgrade, suggest_pg_url)
    container = build_container(Settings(database_url=suggest_pg_url), pre_ping=False)
    repository = container.deps.repository
    assert isinstance(repository, PgSuggestionRepository)
    recorded = await repository.record_for_event(_suggestion(event=str(uuid.uuid4())))
    assert recorded.previous_priority is None
    pool = await repository.pool()
    await container.close()
    assert pool.is_closing()


async def test_concurrent_deliveries_of_one_event_record_one_suggestion(repository):
    event_id = str(uuid.uuid4())
    results = await asyncio.gather(
        *(repository.record_for_event(_suggestion(event=event_id)) for _ in range(4))
    )
    assert len({r.suggestion.id for r in results}) == 1
    assert {r.previous_priority for r in results} == {None}


async def test_feedback_is_one_per_user_and_counts_toward_acceptance(repository):
    a = await repository.add(_suggestion())
    b = await repository.add(_suggestion())
    before = await repository.acceptance_counts()
    await repository.record_feedback(a.id, "alice", True)
    await repository.record_feedback(a.id, "alice", False)  # changed their mind
    await repository.record_feedback(b.id, "alice", True)
    accepted, total = await repository.acceptance_counts()
    assert (accepted - before[0], total - before[1]) == (1, 2)
    listed = await repository.list_requested_by("alice", limit=10, before_id=None)
    assert {s.id: s.accepted for s in listed} == {a.id: False, b.id: True}


async def test_the_database_refuses_an_invalid_priority(repository, suggest_pg_url):
    conn = await asyncpg.connect(suggest_pg_url)
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO suggest.suggestions (id, requested_by, priority, rationale,"
                " confidence, source, created_at)"
                " VALUES ($1, 'a', 'critical', 'r', 0.5, 'llm', now())",
                str(uuid7()),
            )
    finally:
        await conn.close()
