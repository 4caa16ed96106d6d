"""TaskReader and TaskWriter over the tasks HTTP API, always with the caller's own token, so
the tasks service applies its access rules (another user's task is a 404 here too).

Distributed: a real HTTP client to TASKFLOW_TASKS_URL. Embedded: the same client on an
in-process ASGI transport to the tasks app: one code path for both modes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

import httpx
from opentelemetry import propagate

from taskflow_suggest.application.errors import (
    TaskChangeForbiddenError,
    TaskNotFoundError,
    TasksUnavailableError,
)
from taskflow_suggest.application.ports import Caller
from taskflow_suggest.domain.model import PRIORITIES, Priority, TaskFacts

log = logging.getLogger(__name__)

TASKS_PATH = "/api/v1/tasks"
PAGE_SIZE = 100
OPEN = ("todo", "in_progress")


class HttpTasksClient:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def close(self) -> None:
        await self._client.aclose()

    async def get(self, caller: Caller, task_id: str) -> TaskFacts | None:
        if not _is_uuid(task_id):
            return None  # never splice arbitrary text into the upstream path; tasks ids are UUIDs
        response = await self._send("GET", f"{TASKS_PATH}/{task_id}", caller)
        if response.status_code in (401, 403, 404, 422):
            return None
        _raise_for_upstream(response)
        facts = _parse(lambda r: facts_from_json(r.json()), response)
        return _with_subtasks(facts, await self._count_open_subtasks(caller, task_id))

    async def open_tasks(self, caller: Caller, limit: int) -> list[TaskFacts]:
        tasks: list[TaskFacts] = []
        cursor: str | None = None
        while len(tasks) < limit:
            params: list[tuple[str, str | int]] = [("status", s) for s in OPEN]
            params.append(("limit", min(PAGE_SIZE, limit - len(tasks))))
            if cursor:
                params.append(("cursor", cursor))
            response = await self._send("GET", TASKS_PATH, caller, params=params)
            _raise_for_upstream(response)
            items, cursor = _parse(_read_page, response)
            tasks.extend(items)
            if not cursor:
                break
        return tasks

    async def set_priority(self, caller: Caller, task_id: str, priority: Priority) -> None:
        if not _is_uuid(task_id):
            raise TaskNotFoundError(task_id)
        response = await self._send(
            "PATCH",
            f"{TASKS_PATH}/{task_id}",
            caller,
            json={"priority": priority},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if response.status_code in (401, 404):
            raise TaskNotFoundError(task_id)
        if response.status_code == 403:
            raise TaskChangeForbiddenError(task_id)
        _raise_for_upstream(response)

    async def _count_open_subtasks(self, caller: Caller, task_id: str) -> int:
        """Best effort: the count only nudges the heuristic, so a failure counts as none."""
        params: list[tuple[str, str | int]] = [("parent_id", task_id), ("limit", PAGE_SIZE)]
        params += [("status", s) for s in OPEN]
        try:
            response = await self._send("GET", TASKS_PATH, caller, params=params)
        except TasksUnavailableError:
            return 0
        if response.status_code != 200:
            return 0
        return len(response.json().get("data", []))

    async def _send(
        self,
        method: str,
        path: str,
        caller: Caller,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {caller.token}", **(headers or {})}
        propagate.inject(all_headers)
        try:
            return await self._client.request(method, path, headers=all_headers, **kwargs)
        except httpx.HTTPError as exc:
            raise TasksUnavailableError(f"tasks API unreachable: {exc!r}") from exc


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


T = TypeVar("T")


def _parse(read: Callable[[httpx.Response], T], response: httpx.Response) -> T:
    """An answer we cannot read is the tasks API failing, not a bug of ours (503, not 500)."""
    try:
        return read(response)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TasksUnavailableError(f"unreadable tasks API answer: {exc!r}") from exc


def _read_page(response: httpx.Response) -> tuple[list[TaskFacts], str | None]:
    page = response.json()
    next_cursor = page.get("next_cursor")
    return [facts_from_json(item) for item in page["data"]], str(next_cursor or "") or None


def _raise_for_upstream(response: httpx.Response) -> None:
    if response.status_code >= 400:
        log.warning(
            "tasks API answered an error",
            extra={"status": response.status_code, "path": response.request.url.path},
        )
        raise TasksUnavailableError(f"tasks API answered {response.status_code}")


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value))


def facts_from_json(body: dict[str, Any]) -> TaskFacts:
    """A tasks API task resource → the fields the engines read."""
    priority = body.get("priority")
    return TaskFacts(
        title=str(body.get("title", "")),
        description=str(body.get("description") or ""),
        due_at=_when(body.get("due_at")),
        labels=tuple(str(x) for x in body.get("labels") or ()),
        priority=priority if priority in PRIORITIES else None,
        created_at=_when(body.get("created_at")),
        status=str(body.get("status", "todo")),
        is_subtask=body.get("parent_id") is not None,
        task_id=str(body["id"]) if body.get("id") else None,
        owner_id=body.get("owner_id"),
        project_id=body.get("project_id"),
        assignee_id=body.get("assignee_id"),
    )


def _with_subtasks(facts: TaskFacts, open_subtasks: int) -> TaskFacts:
    return replace(facts, open_subtasks=open_subtasks)
