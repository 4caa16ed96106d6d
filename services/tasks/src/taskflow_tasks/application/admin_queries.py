"""The administrators' read side: every user's tasks, filtered, counted, and summed up.

No visibility scope here: the admin API is reachable only with the administrators' realm
role, checked at the interface before any of these runs (ADR 0112).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol
from uuid import UUID

from taskflow_tasks.application.queries import DEFAULT_LIMIT, Cursor, Sort
from taskflow_tasks.domain.model import Priority, Status, Task

# The orders the admin list offers, each served by an index (migration 0004).
ADMIN_SORTS = ("due_at", "created_at", "priority")
ADMIN_MAX_LIMIT = 200
STATS_DAYS = 30


@dataclass(frozen=True)
class AdminTaskListQuery:
    statuses: tuple[Status, ...] = ()
    priorities: tuple[Priority, ...] = ()
    overdue: bool | None = None
    project_id: UUID | None = None
    owner_id: str | None = None
    assignee_id: str | None = None
    text: str | None = None
    deleted: bool = False  # True: the trash only
    sort: Sort = field(default_factory=Sort)
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None


@dataclass(frozen=True)
class AdminPage:
    items: Sequence[Task]
    next_cursor: str | None
    total: int  # every task matching the filters, across all pages


@dataclass(frozen=True)
class DayCount:
    day: date
    created: int
    completed: int


@dataclass(frozen=True)
class TaskStats:
    by_status: dict[str, int]
    by_priority: dict[str, int]
    overdue: int
    per_day: Sequence[DayCount]  # the last STATS_DAYS days (UTC), oldest first, today last


class AdminTaskQueries(Protocol):
    async def get(self, task_id: UUID) -> Task | None:
        """Any task, trashed or not."""
        ...

    async def list(self, query: AdminTaskListQuery) -> AdminPage: ...

    async def stats(self) -> TaskStats: ...
