"""notify's ingest of one task update, the current code against a baseline, in one run.

`services.event_ingest` (what notify's consumer runs per event, minus the AMQP delivery and the
channel-layer publish around it) for task renames with one recipient each, on one throwaway
database on the stack's Postgres. Rounds alternate between the baseline (notify's source as of
BASELINE, extracted from git and put first on the worker's PYTHONPATH) and the current
checkout, each round a fresh worker process; prints per event the median process CPU, wall
time and SQL statements of each, and their ratios.

BASELINE is the last commit before the task-version upsert was folded into the feed append
(one statement per task update instead of two; ADR 0303, "Cost").

    uv run python bench/notify_ingest_cpu.py [--events 400 --rounds 6]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "34605bc"
SRC = "services/notify/src"


def _worker(events: int, warmup: int) -> None:
    """Inside a worker: Django on the bench database, then time `events` ingests."""
    import django

    django.setup(set_prefix=False)
    from django.conf import settings
    from django.db import connection

    from taskflow_common.djangoweb.schema import migrate_schema
    from taskflow_common.events.contracts.tasks import TaskSnapshotV1, TaskUpdatedV1
    from taskflow_common.events.envelope import RawEnvelope, new_envelope
    from taskflow_notify import services

    migrate_schema(settings.TASKFLOW_NOTIFY.db_schema)
    owner = str(uuid.uuid4())
    now = datetime.now(UTC)

    def rename(n: int) -> RawEnvelope:
        task = TaskSnapshotV1(
            id=str(uuid.uuid4()),
            owner_id=owner,
            title=f"renamed {n}",
            status="todo",
            priority="low",
            version=2,
            created_at=now,
            updated_at=now,
        )
        data = TaskUpdatedV1(
            task=task, changed_fields=["title"], changes={"title": ["before", task.title]}
        )
        return RawEnvelope.model_validate_json(new_envelope(data, subject=owner).to_json())

    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    batch = [rename(n) for n in range(warmup + events)]
    for envelope in batch[:warmup]:
        services.event_ingest(envelope=envelope, enqueue=lambda channel, delivery_id: None)
    with connection.execute_wrapper(count):
        cpu, wall = time.process_time(), time.perf_counter()
        for envelope in batch[warmup:]:
            outcome = services.event_ingest(
                envelope=envelope, enqueue=lambda channel, delivery_id: None
            )
            assert len(outcome.pushes) == 1, outcome
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        json.dumps(
            {
                "cpu_ms": 1000 * cpu / events,
                "wall_ms": 1000 * wall / events,
                "statements": statements / events,
                "source": services.__file__,
            }
        )
    )


def _extract_baseline(into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", BASELINE, SRC],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / SRC


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.events, args.warmup)
        return 0

    import psycopg

    from taskflow_common.testing import require_component
    from taskflow_common.testing.stack import DATABASE_URL

    require_component("postgres")
    name = f"notify_bench_{secrets.token_hex(4)}"
    with psycopg.connect(DATABASE_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "TASKFLOW_DATABASE_URL": DATABASE_URL.rsplit("/", 1)[0] + f"/{name}",
        "TASKFLOW_LOG_LEVEL": "WARNING",
        "TASKFLOW_LOG_JSON": "false",
        "OTEL_SDK_DISABLED": "true",
        "DJANGO_SETTINGS_MODULE": "taskflow_notify.settings.test",
    }
    worker_args = ["--events", str(args.events), "--warmup", str(args.warmup)]
    results: dict[str, list[dict[str, float]]] = {"baseline": [], "current": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            baseline_src = _extract_baseline(Path(tmp))
            for _ in range(args.rounds):
                for variant in results:
                    path = [str(baseline_src)] if variant == "baseline" else []
                    run_env = {**env, "PYTHONPATH": os.pathsep.join(path)}
                    out = subprocess.run(
                        [sys.executable, __file__, "--worker", *worker_args],
                        env=run_env,
                        check=True,
                        capture_output=True,
                        text=True,
                    ).stdout
                    result = json.loads(out.strip().splitlines()[-1])
                    expected = baseline_src if variant == "baseline" else ROOT / SRC
                    if not result["source"].startswith(str(expected)):
                        raise SystemExit(f"{variant} ran {result['source']}, not {expected}")
                    results[variant].append(result)
    finally:
        with psycopg.connect(DATABASE_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def median(variant: str, key: str) -> float:
        return statistics.median(r[key] for r in results[variant])

    print(f"{args.rounds} rounds x {args.events} task renames, one recipient, alternating")
    for key, unit in (("cpu_ms", "ms CPU"), ("wall_ms", "ms wall"), ("statements", "statements")):
        a, b = median("baseline", key), median("current", key)
        spread = ", ".join(f"{r[key]:.2f}" for r in results["current"])
        print(
            f"{unit:>11} per event: baseline {a:.2f}  current {b:.2f}  b/a {b / a:.2f}  ({spread})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
