"""The asyncpg statements name exactly the columns the row builders fill and read, so a column
added to one side and not the other fails here, not in production."""

from __future__ import annotations

from taskflow_tasks.domain.events import TaskCreated, TaskUpdated
from taskflow_tasks.domain.model import Project, Task
from taskflow_tasks.infrastructure.db.events import (
    ACTIVITY_COLUMNS,
    OUTBOX_COLUMNS,
    WRITE_EVENTS,
    activity_rows,
    events_parameters,
    outbox_rows,
)
from taskflow_tasks.infrastructure.db.mapping import project_to_row, task_from_row, task_to_row
from taskflow_tasks.infrastructure.db.repositories import PROJECT_FIELDS
from taskflow_tasks.infrastructure.db.sql import READ_FIELDS, TASK_FIELDS

from .conftest import NOW  # type: ignore[import-not-found]


def _task() -> Task:
    return Task.create(owner_id="alice", actor_id="alice", now=NOW, title="t", labels=["A"])


def test_task_and_project_statements_cover_the_mapped_rows():
    assert set(TASK_FIELDS) == set(task_to_row(_task()))
    assert set(PROJECT_FIELDS) == set(
        project_to_row(Project.create(owner_id="a", name="p", description="", now=NOW))
    )


def test_the_columns_read_are_what_a_task_is_built_from():
    task = _task()
    row = task_to_row(task)
    assert task_from_row({name: row[name] for name in READ_FIELDS}) == task


def test_event_statement_covers_the_outbox_and_activity_rows():
    task = _task()
    events = [
        TaskCreated("alice", NOW, task),
        TaskUpdated("alice", NOW, task, {"title": ("a", "b")}),
    ]
    assert [name for name, _ in OUTBOX_COLUMNS] == list(outbox_rows(events)[0])
    assert [name for name, _ in ACTIVITY_COLUMNS] == list(activity_rows(events)[0])
    parameters = events_parameters(events)
    assert len(parameters) == WRITE_EVENTS.count("$") == len(OUTBOX_COLUMNS) + len(ACTIVITY_COLUMNS)
    assert all(len(column) == 2 for column in parameters)
