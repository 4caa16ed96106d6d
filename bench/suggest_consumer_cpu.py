"""CPU per task event of the suggest consumer's handler, before and after ADR 0406.

Runs `on_task_event` on one throwaway Postgres database, alternating rounds of the baseline
(the repository and text cues as of BASELINE, loaded from git: SQLAlchemy's CTE statement and
a scan of the text per cue) and the current code (asyncpg and the indexed cues), and prints
the median process CPU per event of each and their ratio (plus a third variant, asyncpg with
the baseline's cues, to tell the two changes apart). The AMQP delivery around the handler
is the same in both and not included.

    uv run python bench/suggest_consumer_cpu.py [--events 500 --rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from taskflow_common.events import Envelope, new_envelope
from taskflow_common.events.contracts.tasks import TaskCreatedV1, TaskSnapshotV1, TaskUpdatedV1
from taskflow_common.testing.stack import DATABASE_URL
from taskflow_suggest.application.handlers import SuggestDeps, on_task_event
from taskflow_suggest.bootstrap import build_repository
from taskflow_suggest.config import Settings
from taskflow_suggest.domain import urgency
from taskflow_suggest.infrastructure.db import migrate
from taskflow_suggest.infrastructure.db.engine import make_engine

# The last commit before ADR 0406.
BASELINE = "da43576"
SRC = "services/suggest/src/taskflow_suggest"
TITLES = (
    "Production outage: payments are down for customers",
    "someday read a novel",
    "Fix the login bug before the release",
    "not urgent: tidy the wiki",
    "Renew the contract, it expires soon",
    "Call the dentist for an appointment",
)


def _baseline_module(name: str, path: str) -> ModuleType:
    root = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], check=True, capture_output=True, text=True
    ).stdout.strip()
    source = subprocess.run(
        ["git", "-C", root, "show", f"{BASELINE}:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    file = Path(tempfile.mkdtemp()) / f"{name}.py"
    file.write_text(source)
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _events(count: int) -> list[Envelope[Any]]:
    now = datetime.now(UTC)
    events: list[Envelope[Any]] = []
    task_ids = [str(uuid.uuid4()) for _ in range(max(count // 4, 1))]
    for i in range(count):
        task = TaskSnapshotV1(
            id=task_ids[i % len(task_ids)],
            owner_id="alice",
            title=TITLES[i % len(TITLES)],
            description="Customers report errors at checkout; see the incident channel.",
            status="todo",
            priority="none",
            due_at=now + timedelta(hours=i % 200),
            labels=["bug"] if i % 3 else [],
            version=1 + i // len(task_ids),  # each update a newer snapshot: all are answered
            created_at=now - timedelta(days=i % 30),
            updated_at=now,
        )
        if i < len(task_ids):
            events.append(new_envelope(TaskCreatedV1(task=task), subject="alice"))
        else:
            data = TaskUpdatedV1(task=task, changed_fields=["title"])
            events.append(new_envelope(data, subject="alice"))
    return events


async def _round(deps: SuggestDeps, events: list[Envelope[Any]]) -> float:
    """Milliseconds of process CPU per event (the database's own CPU is another process)."""
    start = time.process_time()
    for envelope in events:
        await on_task_event(deps, envelope)
    return (time.process_time() - start) / len(events) * 1000


async def main(events_per_round: int, rounds: int) -> None:
    trace.set_tracer_provider(TracerProvider())  # spans are made, as in a process with tracing
    old_repository = _baseline_module(
        "baseline_repository", f"{SRC}/infrastructure/db/repository.py"
    )
    old_cues = _baseline_module("baseline_cues", f"{SRC}/domain/cues.py")
    new_text_cues = urgency.text_cues
    name = f"suggest_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(DATABASE_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{DATABASE_URL.rsplit('/', 1)[0]}/{name}"
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        engine = make_engine(url, pre_ping=False)  # the consumer's engine (run_consumer)
        new_repository, close = build_repository(Settings(database_url=url), engine)
        variants = {
            "before": (old_repository.SqlSuggestionRepository(engine), old_cues.text_cues),
            # The asyncpg statement alone, to tell its share from the cues'.
            "asyncpg only": (new_repository, old_cues.text_cues),
            "after": (new_repository, new_text_cues),
        }
        figures: dict[str, list[float]] = {v: [] for v in variants}
        for i in range(rounds + 1):  # the first round warms both up and is not counted
            for variant, (repository, text_cues) in variants.items():
                urgency.text_cues = text_cues  # type: ignore[attr-defined]
                deps = SuggestDeps(repository=repository, tasks=None, writer=None)  # type: ignore[arg-type]
                ms = await _round(deps, _events(events_per_round))
                if i:
                    figures[variant].append(ms)
        urgency.text_cues = new_text_cues  # type: ignore[attr-defined]
        if close is not None:
            await close()
        await engine.dispose()
    finally:
        admin = await asyncpg.connect(DATABASE_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    before, after = (statistics.median(figures[v]) for v in ("before", "after"))
    print(f"events: {rounds} rounds x {events_per_round} per variant, alternating")
    for variant, values in figures.items():
        spread = f"{min(values):.3f}-{max(values):.3f}"
        print(f"{variant:>12}: {statistics.median(values):.3f} ms CPU/event (rounds {spread})")
    print(f"after/before: {after / before:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.rounds))
