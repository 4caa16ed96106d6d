"""The asynchronous client (the same surface as `TaskFlow`, awaited).

async with AsyncTaskFlow("http://127.0.0.1:8080") as tf:
    await tf.login("ada", "secret")
    task = await tf.tasks.create(title="Write report", priority="high")
    async for t in tf.tasks.iter(status=["todo"]):
        print(t.title)
    async for frame in tf.live():  # notifications and task changes, resumed after drops
        print(frame)
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Unpack

import httpx

from taskflow_sdk import calls, models
from taskflow_sdk.auth import MemoryTokenStore, TokenStore
from taskflow_sdk.errors import AuthenticationError
from taskflow_sdk.live import LiveStream
from taskflow_sdk.retry import RetryPolicy
from taskflow_sdk.transport import AsyncTransport
from taskflow_sdk.types import Page, Task, TaskFields, TaskFilters

Progress = Callable[[int, int | None], None]  # (bytes so far, total when known)


class Tasks:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(
        self, *, idempotency_key: str | None = None, **fields: Unpack[TaskFields]
    ) -> Task:
        return await self._t.send(calls.create_task(fields, idempotency_key))

    async def get(self, task_id: str) -> Task:
        return await self._t.send(calls.get_task(task_id))

    async def list(self, cursor: str | None = None, **filters: Unpack[TaskFilters]) -> Page[Task]:
        return await self._t.send(calls.list_tasks(filters, cursor))

    async def iter(self, **filters: Unpack[TaskFilters]) -> AsyncIterator[Task]:
        """Every task matching the filters, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list(cursor, **filters)
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def update(
        self, task: str | Task, *, if_match: str | None = None, **fields: Unpack[TaskFields]
    ) -> Task:
        """PATCH; If-Match is the task's ETag when given a Task read with `get` (412 raises
        PreconditionFailedError, a ConflictError)."""
        return await self._t.send(calls.update_task(task, fields, if_match))

    async def complete(self, task: str | Task, *, if_match: str | None = None) -> Task:
        return await self.update(task, if_match=if_match, status="done")

    async def delete(self, task: str | Task, *, if_match: str | None = None) -> None:
        await self._t.send(calls.delete_task(task, if_match))

    async def restore(self, task: str | Task) -> Task:
        return await self._t.send(calls.restore_task(task))

    async def labels(self) -> builtins.list[models.LabelCountPublic]:
        return await self._t.send(calls.labels())

    async def export(self, fmt: str = "ics", progress: Progress | None = None) -> bytes:
        """Every task of the caller as a file (`ics`, `csv` or `json`)."""
        path, params = calls.export_path(fmt)
        chunks: builtins.list[bytes] = []
        async with self._t.stream(path, params) as response:
            length = response.headers.get("content-length")
            total = int(length) if length else None
            received = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
        return b"".join(chunks)


class Projects:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(self, name: str, description: str | None = None) -> models.ProjectPublic:
        return await self._t.send(calls.create_project(name, description))

    async def get(self, project_id: str) -> models.ProjectPublic:
        return await self._t.send(calls.get_project(project_id))

    async def iter(self) -> AsyncIterator[models.ProjectPublic]:
        cursor: str | None = None
        while True:
            page = await self._t.send(calls.list_projects(cursor))
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def delete(self, project_id: str) -> None:
        await self._t.send(calls.delete_project(project_id))


class Suggestions:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def priority(self, task_id: str) -> models.SuggestionPublic:
        return await self._t.send(calls.suggest_priority(task_id))

    async def iter(self, task_id: str | None = None) -> AsyncIterator[models.SuggestionPublic]:
        cursor: str | None = None
        while True:
            page = await self._t.send(calls.list_suggestions(task_id, cursor))
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def plan(self, limit: int = 10, timezone: str = "UTC") -> models.PlanPublic:
        return await self._t.send(calls.plan(limit, timezone))

    async def feedback(self, suggestion_id: str, accepted: bool) -> models.SuggestionPublic:
        return await self._t.send(calls.suggestion_feedback(suggestion_id, accepted))


class Notifications:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def iter(self, unread: bool | None = None) -> AsyncIterator[models.Notification]:
        cursor: str | None = None
        while True:
            page = await self._t.send(calls.list_notifications(unread, cursor))
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def mark_read(self, notification_id: str) -> models.Notification:
        return await self._t.send(calls.mark_read(notification_id))

    async def changes(self, since: str | None = None) -> models.Changes:
        """One page of the change feed after `since` (without it: the current sync token)."""
        return await self._t.send(calls.changes(since))


class AsyncTaskFlow:
    """A TaskFlow gateway, asynchronously. Tokens live in `token_store` (memory by default)."""

    def __init__(
        self,
        base_url: str,
        *,
        token_store: TokenStore | None = None,
        access_token: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.token_store = token_store or MemoryTokenStore()
        self.transport = AsyncTransport(
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

    async def login(self, username: str, password: str) -> None:
        """Log in through the gateway and keep the tokens in the store."""
        self.transport.session.saved(await self.transport.send(calls.login(username, password)))

    async def register(self, username: str, email: str, password: str) -> models.UserPublic:
        return await self.transport.send(calls.register(username, email, password))

    async def refresh(self) -> None:
        """Refresh now (requests refresh by themselves shortly before the token expires)."""
        await self.transport.refresh(force=True)

    async def logout(self) -> None:
        """Revoke the refresh token at the gateway and forget the session."""
        tokens = self.token_store.load()
        try:
            if tokens is not None and tokens.refresh_token is not None:
                await self.transport.send(calls.logout(tokens.refresh_token))
        finally:
            self.token_store.clear()

    def live(
        self,
        since: str | None = None,
        *,
        on_state: Callable[[str], None] | None = None,
        max_failures: int | None = None,
    ) -> LiveStream:
        """Notifications and task changes as they happen (`async for frame in tf.live()`),
        reconnecting with the last sync token after a drop; see `taskflow_sdk.live`."""

        async def bearer() -> str:
            await self.transport.refresh_if_due()
            return self.transport.session.bearer()

        async def start_token() -> str:
            return (await self.notifications.changes()).sync_token

        async def refresh() -> bool:
            try:
                return await self.transport.refresh(force=True)
            except AuthenticationError:
                return False

        return LiveStream(
            self.base_url,
            bearer,
            start_token,
            refresh,
            since=since,
            on_state=on_state,
            max_failures=max_failures,
        )

    async def me(self) -> models.Me:
        return await self.transport.send(calls.me())

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> AsyncTaskFlow:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
