"""What the unit of work does with domain events: collect them from the touched aggregates at
commit, and write them as outbox rows (envelopes) and activity rows in one statement."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from opentelemetry import propagate

from taskflow_common.events import new_envelope
from taskflow_common.ids import uuid7
from taskflow_tasks.application.ports import ProjectRepository, TaskRepository
from taskflow_tasks.domain.events import DomainEvent
from taskflow_tasks.infrastructure.contracts import activity_entry, to_contract
from taskflow_tasks.infrastructure.db.sql import names

# Postgres notifies it at commit of every transaction that inserted outbox rows: a statement
# trigger on the outbox table (migration 0002) calls pg_notify, so commits need no NOTIFY.
OUTBOX_CHANNEL = "taskflow_tasks_outbox"


def outbox_rows(events: list[DomainEvent]) -> list[dict[str, Any]]:
    """Envelopes for the events, carrying the current trace context (W3C traceparent)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    rows = []
    for event in events:
        envelope = new_envelope(to_contract(event), subject=event.actor_id, occurred_at=event.at)
        rows.append(
            {
                "id": envelope.event_id,
                "event_type": envelope.event_type,
                "payload": envelope.model_dump(mode="json"),
                "traceparent": carrier.get("traceparent"),
                "tracestate": carrier.get("tracestate"),
                "created_at": event.at,
                "sent_at": None,
                "attempts": 0,
            }
        )
    return rows


def activity_rows(events: list[DomainEvent]) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        entry = activity_entry(event)
        if entry is not None:
            task_id, action, changes = entry
            rows.append(
                {
                    "id": uuid7(),
                    "task_id": task_id,
                    "actor_id": event.actor_id,
                    "at": event.at,
                    "action": action,
                    "changes": changes,
                }
            )
    return rows


class RecordsEvents:
    """Keeps the events recorded beside the aggregates, and at commit takes every event the
    touched aggregates hold, with the recorded ones, in order."""

    tasks: TaskRepository
    projects: ProjectRepository
    _recorded: list[DomainEvent]

    def record(self, event: DomainEvent) -> None:
        self._recorded.append(event)

    def collect_events(self) -> list[DomainEvent]:
        collected: list[DomainEvent] = []
        for task in self.tasks.seen:
            collected.extend(task.events)
            task.events.clear()
        for project in self.projects.seen:
            collected.extend(project.events)
            project.events.clear()
        collected.extend(self._recorded)
        self._recorded = []
        collected.sort(key=lambda event: event.at)
        return collected


# The columns `outbox_rows` / `activity_rows` fill, with their array types. jsonb travels as
# text: asyncpg would read a list inside a jsonb[] array (labels, changes) as a dimension.
OUTBOX_COLUMNS = (
    ("id", "uuid"),
    ("event_type", "text"),
    ("payload", "jsonb"),
    ("traceparent", "text"),
    ("tracestate", "text"),
    ("created_at", "timestamptz"),
    ("sent_at", "timestamptz"),
    ("attempts", "int8"),
)
ACTIVITY_COLUMNS = (
    ("id", "uuid"),
    ("task_id", "uuid"),
    ("actor_id", "text"),
    ("at", "timestamptz"),
    ("action", "text"),
    ("changes", "jsonb"),
)


def _insert_unnested(table: str, columns: Sequence[tuple[str, str]], first: int) -> str:
    listed = names([name for name, _ in columns])
    arrays = ", ".join(
        f"${i}::{'text' if kind == 'jsonb' else kind}[]"
        for i, (_, kind) in enumerate(columns, first)
    )
    values = ", ".join(
        f'r."{name}"::jsonb' if kind == "jsonb" else f'r."{name}"' for name, kind in columns
    )
    return (
        f"INSERT INTO tasks.{table} ({listed})"  # noqa: S608
        f" SELECT {values} FROM unnest({arrays}) AS r({listed})"
    )


# Outbox and activity rows in one round trip, the outbox insert as a data-modifying CTE. Rows
# travel as one array per column, so the statement is the same for any number of rows and
# never meets Postgres' 32,767-parameter limit.
WRITE_EVENTS = (
    f"WITH outbox_written AS ({_insert_unnested('outbox', OUTBOX_COLUMNS, 1)})"
    f" {_insert_unnested('activity', ACTIVITY_COLUMNS, len(OUTBOX_COLUMNS) + 1)}"
)


def _arrays(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> list[list[Any]]:
    return [
        [json.dumps(row[name]) for row in rows] if kind == "jsonb" else [row[name] for row in rows]
        for name, kind in columns
    ]


def events_parameters(events: list[DomainEvent]) -> list[list[Any]]:
    """WRITE_EVENTS' parameters for the events (outbox envelopes and activity entries)."""
    return [
        *_arrays(outbox_rows(events), OUTBOX_COLUMNS),
        *_arrays(activity_rows(events), ACTIVITY_COLUMNS),
    ]
