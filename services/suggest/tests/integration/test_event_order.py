"""The consumer on the real Postgres, fed one task's events in every order (ADR 0304).

Events arrive in no guaranteed order: advice read from an older snapshot of a task must never
be stored or announced after advice read from a newer one.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from taskflow_common.events import new_envelope
from taskflow_common.events.contracts.tasks import TaskCreatedV1, TaskSnapshotV1, TaskUpdatedV1
from taskflow_common.messaging import InProcessEventBus
from taskflow_suggest.application.handlers import SuggestDeps, on_task_event
from taskflow_suggest.bootstrap import build_repository
from taskflow_suggest.config import Settings
from taskflow_suggest.infrastructure.db import migrate
from taskflow_suggest.infrastructure.db.engine import make_engine

NOW = datetime.now(UTC)
TITLES = ("Someday tidy the wiki", "Production outage: payments down", "Someday read a novel")


@pytest.fixture
async def repository(suggest_pg_url: str) -> Any:
    await asyncio.to_thread(migrate.upgrade, suggest_pg_url)
    engine = make_engine(suggest_pg_url)
    built, close = build_repository(Settings(database_url=suggest_pg_url), engine)
    yield built
    if close is not None:
        await close()
    await engine.dispose()


def _history() -> list[Any]:
    """A task created (v1) and retitled twice (v2, v3), each title calling for other advice."""
    task = TaskSnapshotV1(
        id=str(uuid.uuid4()),
        owner_id="alice",
        title=TITLES[0],
        status="todo",
        priority="none",
        due_at=NOW + timedelta(days=20),
        version=1,
        created_at=NOW,
        updated_at=NOW,
    )
    events = [new_envelope(TaskCreatedV1(task=task), subject="alice")]
    for version in (2, 3):
        snapshot = task.model_copy(update={"title": TITLES[version - 1], "version": version})
        data = TaskUpdatedV1(task=snapshot, changed_fields=["title"])
        events.append(new_envelope(data, subject="alice"))
    return events


@pytest.mark.parametrize(
    "order", list(itertools.permutations(range(3))), ids=lambda o: "".join(map(str, o))
)
async def test_advice_only_ever_moves_to_newer_snapshots_of_the_task(
    repository: Any, order: tuple[int, ...]
) -> None:
    # given a task's three events, delivered in this order and then once more
    bus = InProcessEventBus()
    published: list[Any] = []

    async def collect(envelope: Any) -> None:
        published.append(envelope)

    await bus.subscribe("test", ["suggest.priority.suggested.v1"], collect)
    deps = SuggestDeps(repository=repository, tasks=None, writer=None, bus=bus)  # type: ignore[arg-type]
    history = _history()
    task_id = history[0].data["task"]["id"]

    # when the consumer handles them
    for i in (*order, *order):
        await on_task_event(deps, history[i])
    await bus.drain()
    await bus.close()

    # then the suggestions stored, oldest first, read ever newer snapshots, the newest the v3
    stored = list(reversed(await repository.list_for_task(task_id, limit=10, before_id=None)))
    versions = [s.task_version for s in stored]
    assert versions == sorted(set(versions))
    assert versions[-1] == 3
    # and nothing read from an older snapshot was announced after a newer one
    by_id = {s.id: s.task_version for s in stored}
    announced = [by_id[e.data["suggestion_id"]] for e in published]
    assert announced == sorted(announced)
