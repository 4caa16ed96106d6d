"""SqlSuggestionRepository: the SuggestionRepository port on SQLAlchemy's async engine.

It serves both databases; on Postgres the composition root uses its subclass in pg_events.py,
whose `record_for_event` (the event consumer's hot statement) skips SQLAlchemy (ADR 0406).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from taskflow_suggest.application.ports import RecordedSuggestion
from taskflow_suggest.domain.model import Priority, Source, Suggestion
from taskflow_suggest.infrastructure.db.tables import FeedbackRow, SuggestionRow


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; everything stored is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _to_domain(row: SuggestionRow, accepted: bool | None = None) -> Suggestion:
    created = _aware(row.created_at)
    assert created is not None
    return Suggestion(
        id=row.id,
        task_id=row.task_id,
        requested_by=row.requested_by,
        priority=cast(Priority, row.priority),  # a DB constraint keeps it valid
        rationale=row.rationale,
        confidence=row.confidence,
        suggested_due_at=_aware(row.suggested_due_at),
        source=cast(Source, row.source),
        model=row.model,
        created_at=created,
        source_event_id=row.source_event_id,
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
    }


class SqlSuggestionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, class_=AsyncSession)

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

    async def record_for_event(self, suggestion: Suggestion) -> RecordedSuggestion:
        """The portable way, an insert and then a read: SQLite has no INSERT inside WITH, and
        the embedded mode's load does not call for more. Postgres does it in one round trip
        (pg_events.PgSuggestionRepository, ADR 0405 and 0406)."""
        assert suggestion.source_event_id is not None, "an event's suggestion names the event"
        stored = await self.add(suggestion)
        return RecordedSuggestion(stored, await self._priority_before(stored))

    async def _priority_before(self, suggestion: Suggestion) -> Priority | None:
        id_column: Any = SuggestionRow.id
        async with self._sessions() as session:
            result = await session.execute(
                select(col(SuggestionRow.priority))
                .where(col(SuggestionRow.task_id) == suggestion.task_id, id_column < suggestion.id)
                .order_by(id_column.desc())
                .limit(1)
            )
            return cast(Priority | None, result.scalar())

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
