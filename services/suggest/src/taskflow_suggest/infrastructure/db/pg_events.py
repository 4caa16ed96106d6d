"""The consumer's hot statement on Postgres straight through a small asyncpg pool.

Every task event ends in `record_for_event`. Through SQLAlchemy that one statement cost about
as much CPU as the rest of the handling (greenlet hops, result-metadata set-up, building a
`SuggestionRow` through SQLModel's validation, compile-cache keys); asyncpg prepares it once per
connection and hands back a record that maps straight to the domain (ADR 0406). The result is
the same as `SqlSuggestionRepository`'s portable insert-then-read, which keeps every other
method and serves SQLite.
"""

from __future__ import annotations

import asyncio
from typing import cast

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from taskflow_suggest.application.ports import RecordedSuggestion
from taskflow_suggest.domain.model import Priority, Source, Suggestion
from taskflow_suggest.infrastructure.db.repository import SqlSuggestionRepository
from taskflow_suggest.infrastructure.db.tables import SCHEMA

_COLUMNS = (
    "id, task_id, requested_by, priority, rationale, confidence, suggested_due_at, source, "
    "model, created_at, source_event_id"
)
_PREVIOUS = f"""(
    SELECT before.priority FROM {SCHEMA}.suggestions AS before
    WHERE before.task_id = stored.task_id AND before.id < stored.id
    ORDER BY before.id DESC LIMIT 1
) AS previous_priority"""  # noqa: S608 -- only module constants are formatted in
# ADR 0405's one round trip: insert unless this event already has its suggestion, return
# whichever is stored with the priority of the task's suggestion before it. Autocommit (no
# transaction is opened), and every part reads the snapshot taken before the insert.
RECORD_FOR_EVENT = f"""
WITH inserted AS (
    INSERT INTO {SCHEMA}.suggestions ({_COLUMNS})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (source_event_id) DO NOTHING
    RETURNING {_COLUMNS}
), stored AS (
    SELECT {_COLUMNS} FROM inserted
    UNION ALL
    SELECT {_COLUMNS} FROM {SCHEMA}.suggestions
    WHERE source_event_id = $11 AND NOT EXISTS (SELECT 1 FROM inserted)
)
SELECT stored.*, {_PREVIOUS}
FROM stored
"""  # noqa: S608 -- only module constants are formatted in
# When a concurrent delivery of the same event inserted after RECORD_FOR_EVENT's snapshot was
# taken, that statement sees neither row; this one, with a fresh snapshot, sees the committed one.
RECORDED_FOR_EVENT = f"""
SELECT stored.*, {_PREVIOUS}
FROM {SCHEMA}.suggestions AS stored
WHERE stored.source_event_id = $1
"""  # noqa: S608 -- only module constants are formatted in


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """asyncpg's default reset costs a round trip per release (advisory unlocks, CLOSE ALL,
    UNLISTEN, RESET ALL) for session state these statements never create; only a transaction
    left open by a cancelled caller needs undoing (none is ever opened here)."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def _to_domain(record: asyncpg.Record) -> Suggestion:
    # asyncpg returns timestamptz as aware UTC datetimes, and the table's constraints keep
    # priority and source valid: nothing to convert.
    return Suggestion(
        id=record["id"],
        task_id=record["task_id"],
        requested_by=record["requested_by"],
        priority=cast(Priority, record["priority"]),
        rationale=record["rationale"],
        confidence=record["confidence"],
        suggested_due_at=record["suggested_due_at"],
        source=cast(Source, record["source"]),
        model=record["model"],
        created_at=record["created_at"],
        source_event_id=record["source_event_id"],
    )


def _recorded(record: asyncpg.Record) -> RecordedSuggestion:
    return RecordedSuggestion(
        _to_domain(record), cast(Priority | None, record["previous_priority"])
    )


class PgSuggestionRepository(SqlSuggestionRepository):
    """`record_for_event` on an asyncpg pool (created on first use, so a `serve` process that
    never handles an event opens none), everything else inherited from SQLAlchemy.

    The pool has no pre-ping, like the consumer's engine before it (ADR 0405): a connection
    that died with a database restart fails one handling, which the bus retries, and asyncpg
    drops it from the pool.
    """

    # As many connections as the SQLAlchemy engine's pool keeps: the consumer's engine opens
    # none of its own on Postgres now, so the process holds no more than before.
    def __init__(self, engine: AsyncEngine, database_url: str, pool_size: int = 10) -> None:
        super().__init__(engine)
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn, min_size=1, max_size=self._pool_size, reset=_reset_connection
                    )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def record_for_event(self, suggestion: Suggestion) -> RecordedSuggestion:
        assert suggestion.source_event_id is not None, "an event's suggestion names the event"
        pool = self._pool or await self.pool()
        record = await pool.fetchrow(
            RECORD_FOR_EVENT,
            suggestion.id,
            suggestion.task_id,
            suggestion.requested_by,
            suggestion.priority,
            suggestion.rationale,
            suggestion.confidence,
            suggestion.suggested_due_at,
            suggestion.source,
            suggestion.model,
            suggestion.created_at,
            suggestion.source_event_id,
        )
        if record is None:
            record = await pool.fetchrow(RECORDED_FOR_EVENT, suggestion.source_event_id)
            if record is None:
                raise RuntimeError(f"no suggestion stored for event {suggestion.source_event_id}")
        return _recorded(record)
