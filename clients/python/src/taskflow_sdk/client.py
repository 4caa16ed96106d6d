"""The synchronous client.

with TaskFlow("http://127.0.0.1:8080") as tf:
    tf.login("ada", "secret")
    task = tf.tasks.create(title="Write report", priority="high")
    for t in tf.tasks.iter(status=["todo"]):
        print(t.title)
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Unpack

import httpx

from taskflow_sdk import calls, models
from taskflow_sdk.auth import MemoryTokenStore, TokenStore
from taskflow_sdk.retry import RetryPolicy
from taskflow_sdk.transport import SyncTransport
from taskflow_sdk.types import Page, Task, TaskFields, TaskFilters

Progress = Callable[[int, int | None], None]  # (bytes so far, total when known)


class Tasks:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, *, idempotency_key: str | None = None, **fields: Unpack[TaskFields]) -> Task:
        return self._t.send(calls.create_task(fields, idempotency_key))

    def get(self, task_id: str) -> Task:
        return self._t.send(calls.get_task(task_id))

    def list(self, cursor: str | None = None, **filters: Unpack[TaskFilters]) -> Page[Task]:
        return self._t.send(calls.list_tasks(filters, cursor))

    def iter(self, **filters: Unpack[TaskFilters]) -> Iterator[Task]:
        """Every task matching the filters, page after page."""
        cursor: str | None = None
        while True:
            page = self.list(cursor, **filters)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def update(
        self, task: str | Task, *, if_match: str | None = None, **fields: Unpack[TaskFields]
    ) -> Task:
        """PATCH; If-Match is the task's ETag when given a Task read with `get` (412 raises
        PreconditionFailedError, a ConflictError)."""
        return self._t.send(calls.update_task(task, fields, if_match))

    def complete(self, task: str | Task, *, if_match: str | None = None) -> Task:
        return self.update(task, if_match=if_match, status="done")

    def delete(self, task: str | Task, *, if_match: str | None = None) -> None:
        self._t.send(calls.delete_task(task, if_match))

    def restore(self, task: str | Task) -> Task:
        return self._t.send(calls.restore_task(task))

    def labels(self) -> builtins.list[models.LabelCountPublic]:
        return self._t.send(calls.labels())

    def export(self, fmt: str = "ics", progress: Progress | None = None) -> bytes:
        """Every task of the caller as a file (`ics`, `csv` or `json`)."""
        path, params = calls.export_path(fmt)
        chunks: builtins.list[bytes] = []
        with self._t.stream(path, params) as response:
            length = response.headers.get("content-length")
            total = int(length) if length else None
            received = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
        return b"".join(chunks)


class Projects:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, name: str, description: str | None = None) -> models.ProjectPublic:
        return self._t.send(calls.create_project(name, description))

    def get(self, project_id: str) -> models.ProjectPublic:
        return self._t.send(calls.get_project(project_id))

    def iter(self) -> Iterator[models.ProjectPublic]:
        cursor: str | None = None
        while True:
            page = self._t.send(calls.list_projects(cursor))
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def delete(self, project_id: str) -> None:
        self._t.send(calls.delete_project(project_id))


class Suggestions:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def priority(self, task_id: str) -> models.SuggestionPublic:
        return self._t.send(calls.suggest_priority(task_id))

    def iter(self, task_id: str | None = None) -> Iterator[models.SuggestionPublic]:
        cursor: str | None = None
        while True:
            page = self._t.send(calls.list_suggestions(task_id, cursor))
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def plan(self, limit: int = 10, timezone: str = "UTC") -> models.PlanPublic:
        return self._t.send(calls.plan(limit, timezone))

    def feedback(self, suggestion_id: str, accepted: bool) -> models.SuggestionPublic:
        return self._t.send(calls.suggestion_feedback(suggestion_id, accepted))


class Notifications:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def iter(self, unread: bool | None = None) -> Iterator[models.Notification]:
        cursor: str | None = None
        while True:
            page = self._t.send(calls.list_notifications(unread, cursor))
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def mark_read(self, notification_id: str) -> models.Notification:
        return self._t.send(calls.mark_read(notification_id))

    def changes(self, since: str | None = None) -> models.Changes:
        """One page of the change feed after `since` (without it: the current sync token)."""
        return self._t.send(calls.changes(since))


class TaskFlow:
    """A TaskFlow gateway, synchronously. Tokens live in `token_store` (memory by default)."""

    def __init__(
        self,
        base_url: str,
        *,
        token_store: TokenStore | None = None,
        access_token: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.token_store = token_store or MemoryTokenStore()
        self.transport = SyncTransport(
            base_url,
            self.token_store,
            access_token=access_token,
            retry=retry,
            timeout=timeout,
            http=http,
        )
        self.tasks = Tasks(self.transport)
        self.projects = Projects(self.transport)
        self.suggestions = Suggestions(self.transport)
        self.notifications = Notifications(self.transport)

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    def login(self, username: str, password: str) -> None:
        """Log in through the gateway and keep the tokens in the store."""
        self.transport.session.saved(self.transport.send(calls.login(username, password)))

    def register(self, username: str, email: str, password: str) -> models.UserPublic:
        return self.transport.send(calls.register(username, email, password))

    def refresh(self) -> None:
        """Refresh now (requests refresh by themselves shortly before the token expires)."""
        self.transport.refresh(force=True)

    def logout(self) -> None:
        """Revoke the refresh token at the gateway and forget the session."""
        tokens = self.token_store.load()
        try:
            if tokens is not None and tokens.refresh_token is not None:
                self.transport.send(calls.logout(tokens.refresh_token))
        finally:
            self.token_store.clear()

    def me(self) -> models.Me:
        return self.transport.send(calls.me())

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> TaskFlow:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
