"""Building blocks of the asyncpg statements: every statement is assembled once, at import, from
table and column names only; every value is bound. asyncpg prepares each statement once per
connection and keeps it."""

from __future__ import annotations

from collections.abc import Sequence

from taskflow_tasks.infrastructure.db import tables as t

# The task row as `mapping.task_to_row` writes it (overdue_fired_at belongs to the scheduler).
TASK_FIELDS = tuple(c.name for c in t.tasks.c if c.name != "overdue_fired_at")
# What `mapping.task_from_row` reads (label_keys only serves the label filter's index).
READ_FIELDS = tuple(f for f in TASK_FIELDS if f != "label_keys")
COLUMNS = ", ".join(READ_FIELDS)


def names(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def placeholders(count: int, first: int = 1) -> str:
    return ", ".join(f"${i}" for i in range(first, first + count))


def assignments(columns: Sequence[str], first: int) -> str:
    return ", ".join(f'"{c}" = ${i}' for i, c in enumerate(columns, start=first))
