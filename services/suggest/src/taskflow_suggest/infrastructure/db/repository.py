"""PgSuggestionRepository: the SuggestionRepository port on the `suggest` schema.

Reads and the API's writes go through SQLAlchemy's async engine (pre-pinged for the HTTP API:
no 5xx for a connection that died with a database restart). The event consumer's hot statement,
`record_for_event`, goes straight through a small asyncpg pool: through SQLAlchemy that one
statement cost about as much CPU as the rest of the handling (greenlet hops, result-metadata
set-up, SQLModel validation, compile-cache keys); asyncpg prepares it once per connection and
hands back a record that maps straight to the domain (ADR 0405, 0406).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from taskflow_common.db_tracing import db_span
from taskflow_suggest.application.ports import RecordedSuggestion, SourceCounts
from taskflow_suggest.domain.model import Priority, Source, Suggestion
from taskflow_suggest.infrastructure.db.tables import SCHEMA, FeedbackRow, SuggestionRow

_COLUMNS = (
    "id, task_id, requested_by, priority, rationale, confidence, suggested_due_at, source, "
    "model, created_at, source_event_id, task_version"
)
_PREVIOUS = f"""(
    SELECT before.priority FROM {SCHEMA}.suggestions AS before
    WHERE before.task_id = stored.task_id AND before.id < stored.id
    ORDER BY before.id DESC LIMIT 1
) AS previous_priority"""  # noqa: S608 -- only module constants are formatted in
# ADR 0405's one round trip: insert unless this event already has its suggestion, return
# whichever is stored with the priority of the task's suggestion before it. Autocommit (no
# transaction is opened), and every part reads the snapshot taken before the insert.
# ADR 0304: the task's version advances first, and only when this snapshot is newer than the
# last one answered; the upsert locks the task's row and sees its newest committed version,
# so concurrent events about one task decide one after the other. Without it (a stale event),
# nothing is inserted, and neither a row of this event: the result is empty.
RECORD_FOR_EVENT = f"""
WITH advanced AS (
    INSERT INTO {SCHEMA}.task_versions AS held (task_id, version)
    SELECT $2, $12::bigint WHERE $12::bigint IS NOT NULL
    ON CONFLICT (task_id) DO UPDATE SET version = EXCLUDED.version
    WHERE held.version < EXCLUDED.version
    RETURNING task_id
), inserted AS (
    INSERT INTO {SCHEMA}.suggestions ({_COLUMNS})
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::bigint
    WHERE $12::bigint IS NULL OR EXISTS (SELECT 1 FROM advanced)
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


def _record_to_domain(record: asyncpg.Record) -> Suggestion:
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
        task_version=record["task_version"],
    )


def _recorded(record: asyncpg.Record) -> RecordedSuggestion:
    return RecordedSuggestion(
        _record_to_domain(record), cast(Priority | None, record["previous_priority"])
    )


def _to_domain(row: SuggestionRow, accepted: bool | None = None) -> Suggestion:
    return Suggestion(
        id=row.id,
        task_id=row.task_id,
        requested_by=row.requested_by,
        priority=cast(Priority, row.priority),  # a DB constraint keeps it valid
        rationale=row.rationale,
        confidence=row.confidence,
        suggested_due_at=row.suggested_due_at,
        source=cast(Source, row.source),
        model=row.model,
        created_at=row.created_at,
        source_event_id=row.source_event_id,
        task_version=row.task_version,
        accepted=accepted,
    )


def _row_values(suggestion: Suggestion) -> dict[str, Any]:
    return {
        "id": suggestion.id,
        "task_id": suggestion.task_id,
        "requested_by": suggestion.requested_by,
        "priority": suggestion.priority,
        "rationale": suggestion.rationale,
        "confidence": suggestion.confidence,
        "suggested_due_at": suggestion.suggested_due_at,
        "source": suggestion.source,
        "model": suggestion.model,
        "created_at": suggestion.created_at,
        "source_event_id": suggestion.source_event_id,
        "task_version": suggestion.task_version,
    }


class PgSuggestionRepository:
    """The asyncpg pool is created on first use, so a `serve` process that never handles an
    event opens none. It has no pre-ping, like the consumer's engine (ADR 0405): a connection
    that died with a database restart fails one handling, which the bus retries, and asyncpg
    drops it from the pool.
    """

    # As many connections as the SQLAlchemy engine's pool keeps: the consumer's engine opens
    # none of its own, so the process holds no more than that.
    def __init__(self, engine: AsyncEngine, database_url: str, pool_size: int = 10) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, class_=AsyncSession)
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

    async def record_for_event(self, suggestion: Suggestion) -> RecordedSuggestion | None:
        assert suggestion.source_event_id is not None, "an event's suggestion names the event"
        pool = self._pool or await self.pool()
        with db_span("INSERT", "INSERT suggestions (for event)", namespace="suggest"):
            record = await self._record_for_event(pool, suggestion)
        if record is None:
            with db_span("SELECT", "SELECT suggestions (for event)", namespace="suggest"):
                record = await pool.fetchrow(RECORDED_FOR_EVENT, suggestion.source_event_id)
            if record is None:
                if suggestion.task_version is None:
                    raise RuntimeError(
                        f"no suggestion stored for event {suggestion.source_event_id}"
                    )
                return None  # stale: a newer snapshot of the task was answered already
        return _recorded(record)

    @staticmethod
    async def _record_for_event(pool: asyncpg.Pool, suggestion: Suggestion) -> Any:
        return await pool.fetchrow(
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
            suggestion.task_version,
        )

    async def add(self, suggestion: Suggestion) -> Suggestion:
        row = SuggestionRow(**_row_values(suggestion))
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            # A concurrent redelivery of the same event stored it first: use that one.
            if suggestion.source_event_id is None:
                raise
            existing = await self.by_source_event(suggestion.source_event_id)
            if existing is None:
                raise
            return existing
        return suggestion

    async def get(self, suggestion_id: str) -> Suggestion | None:
        async with self._sessions() as session:
            row = await session.get(SuggestionRow, suggestion_id)
            return _to_domain(row) if row is not None else None

    async def by_source_event(self, event_id: str) -> Suggestion | None:
        async with self._sessions() as session:
            result = await session.execute(
                select(SuggestionRow).where(col(SuggestionRow.source_event_id) == event_id)
            )
            row = result.scalars().first()
            return _to_domain(row) if row is not None else None

    async def list_for_task(
        self, task_id: str, *, limit: int, before_id: str | None
    ) -> list[Suggestion]:
        return await self._page(col(SuggestionRow.task_id) == task_id, limit, before_id)

    async def list_requested_by(
        self, user_id: str, *, limit: int, before_id: str | None
    ) -> list[Suggestion]:
        return await self._page(col(SuggestionRow.requested_by) == user_id, limit, before_id)

    async def _page(self, condition: Any, limit: int, before_id: str | None) -> list[Suggestion]:
        id_column: Any = SuggestionRow.id
        query = select(SuggestionRow).where(condition)
        if before_id is not None:
            query = query.where(id_column < before_id)
        query = query.order_by(id_column.desc()).limit(limit)
        async with self._sessions() as session:
            rows = (await session.execute(query)).scalars().all()
            ids = [r.id for r in rows]
            verdicts: dict[str, bool] = {}
            if ids:
                feedback = await session.execute(
                    select(col(FeedbackRow.suggestion_id), col(FeedbackRow.accepted)).where(
                        col(FeedbackRow.suggestion_id).in_(ids)
                    )
                )
                verdicts = {str(sid): bool(accepted) for sid, accepted in feedback.all()}
            return [_to_domain(r, verdicts.get(r.id)) for r in rows]

    async def record_feedback(self, suggestion_id: str, user_id: str, accepted: bool) -> None:
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            row = await session.get(FeedbackRow, (suggestion_id, user_id))
            if row is None:
                session.add(
                    FeedbackRow(
                        suggestion_id=suggestion_id,
                        user_id=user_id,
                        accepted=accepted,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                row.accepted = accepted
                row.updated_at = now

    async def acceptance_counts(self) -> tuple[int, int]:
        accepted_column: Any = FeedbackRow.accepted
        async with self._sessions() as session:
            result = await session.execute(
                select(
                    func.count().filter(accepted_column.is_(True)),
                    func.count(),
                ).select_from(FeedbackRow)
            )
            accepted, total = result.one()
            return int(accepted or 0), int(total or 0)

    async def source_counts(self) -> list[SourceCounts]:
        accepted_column: Any = FeedbackRow.accepted
        source_column: Any = SuggestionRow.source
        async with self._sessions() as session:
            made = await session.execute(
                select(source_column, func.count()).group_by(source_column)
            )
            judged = await session.execute(
                select(
                    source_column,
                    func.count().filter(accepted_column.is_(True)),
                    func.count().filter(accepted_column.is_(False)),
                )
                .select_from(FeedbackRow)
                .join(SuggestionRow, col(SuggestionRow.id) == col(FeedbackRow.suggestion_id))
                .group_by(source_column)
            )
            feedback = {row[0]: (int(row[1]), int(row[2])) for row in judged}
            return [
                SourceCounts(source, int(count), *feedback.get(source, (0, 0)))
                for source, count in made
            ]
