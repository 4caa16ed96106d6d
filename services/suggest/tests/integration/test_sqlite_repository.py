"""The SQL repository on SQLite, as the embedded mode runs it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from taskflow_common.ids import uuid7
from taskflow_suggest.bootstrap import build_repository
from taskflow_suggest.config import Settings
from taskflow_suggest.domain.model import Suggestion
from taskflow_suggest.infrastructure.db.engine import create_sqlite_tables, make_engine
from taskflow_suggest.infrastructure.db.repository import SqlSuggestionRepository


def _suggestion(task_id: str, priority: str) -> Suggestion:
    return Suggestion(
        id=str(uuid7()),
        task_id=task_id,
        requested_by="alice",
        priority=priority,  # type: ignore[arg-type]
        rationale="r",
        confidence=0.5,
        suggested_due_at=None,
        source="heuristic",
        model=None,
        created_at=datetime.now(UTC),
        source_event_id=str(uuid.uuid4()),
    )


async def test_recording_for_an_event_is_idempotent_and_knows_the_previous_advice(tmp_path):
    url = f"sqlite:///{tmp_path}/suggest.db"
    engine = make_engine(url)
    await create_sqlite_tables(engine)
    repository, close = build_repository(Settings(database_url=url), engine)
    # The embedded mode stays on SQLAlchemy: no asyncpg pool to open or close.
    assert type(repository) is SqlSuggestionRepository
    assert close is None
    task_id = str(uuid.uuid4())
    first = await repository.record_for_event(_suggestion(task_id, "high"))
    second = _suggestion(task_id, "low")
    recorded = await repository.record_for_event(second)
    again = await repository.record_for_event(replace(second, id=str(uuid7()), priority="none"))
    await engine.dispose()

    assert first.previous_priority is None
    assert recorded.suggestion == second
    assert recorded.previous_priority == "high"
    assert again == recorded
