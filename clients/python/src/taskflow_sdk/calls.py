"""Every API call as data: method, path, query, body, headers and how to read the answer.

The sync and the async client send the same `Call`s, so what a call means (its body, its
Idempotency-Key, its If-Match, whether it may be resent) is written once, here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

from taskflow_sdk import models
from taskflow_sdk.retry import may_resend
from taskflow_sdk.types import Page, Task, TaskFields, TaskFilters

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Query = list[tuple[str, str | int | float | bool | None]]


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Query = field(default_factory=list)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    authenticated: bool = True
    reads_only: bool = False  # a POST that changes nothing (plan): as safe to resend as a GET

    @property
    def resendable(self) -> bool:
        return self.reads_only or may_resend(self.method, self.headers)


def _model(cls: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: cls.model_validate_json(response.content)


def _nothing(response: httpx.Response) -> None:
    return None


def _body(cls: type[BaseModel], fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validated on the client first (a typo fails here, naming the field), sent as JSON."""
    checked = cls.model_validate(dict(fields))
    return checked.model_dump(mode="json", exclude_unset=True)


def _query(values: Mapping[str, Any]) -> Query:
    query: Query = []
    for name, value in values.items():
        if value is None:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, bool):
                query.append((name, "true" if item else "false"))
            elif isinstance(item, datetime):
                query.append((name, item.isoformat()))
            else:
                query.append((name, str(item)))
    return query


def _task_page(response: httpx.Response) -> Page[Task]:
    page = models.TaskList.model_validate_json(response.content)
    items = [Task.model_validate(item.model_dump()) for item in page.data]
    return Page(items, page.next_cursor)


def _projects_page(response: httpx.Response) -> Page[models.ProjectPublic]:
    page = models.ProjectList.model_validate_json(response.content)
    return Page(page.data, page.next_cursor)


def _suggestions_page(response: httpx.Response) -> Page[models.SuggestionPublic]:
    page = models.SuggestionPage.model_validate_json(response.content)
    return Page(page.data, page.next_cursor)


def _notifications_page(response: httpx.Response) -> Page[models.Notification]:
    body = response.json()
    items = [models.Notification.model_validate(item) for item in body["data"]]
    return Page(items, body.get("next_cursor"))


def _labels(response: httpx.Response) -> list[models.LabelCountPublic]:
    body = response.json()
    return [models.LabelCountPublic.model_validate(item) for item in body.get("data", [])]


def _task_id(task: str | Task) -> str:
    return str(task.id) if isinstance(task, Task) else str(task)


def _if_match(task: str | Task, if_match: str | None) -> dict[str, str]:
    """If-Match from the caller, else from the task's own ETag (a Task read with GET)."""
    tag = if_match or (task.etag if isinstance(task, Task) else None)
    return {"If-Match": tag} if tag else {}


# --- auth ---


def login(username: str, password: str) -> Call[models.TokenResponse]:
    body = _body(models.LoginRequest, {"username": username, "password": password})
    return Call("POST", "/auth/login", _model(models.TokenResponse), json=body, authenticated=False)


def register(username: str, email: str, password: str) -> Call[models.UserPublic]:
    fields = {"username": username, "email": email, "password": password}
    body = _body(models.UserRegister, fields)
    return Call("POST", "/auth/register", _model(models.UserPublic), json=body, authenticated=False)


def refresh(refresh_token: str) -> Call[models.TokenResponse]:
    body = _body(models.RefreshRequest, {"refresh_token": refresh_token})
    # Not resendable: a refresh rotates the token, so a lost answer means a dead token.
    return Call(
        "POST", "/auth/refresh", _model(models.TokenResponse), json=body, authenticated=False
    )


def logout(refresh_token: str) -> Call[None]:
    body = _body(models.RefreshRequest, {"refresh_token": refresh_token})
    return Call("POST", "/auth/logout", _nothing, json=body, authenticated=False)


def me() -> Call[models.Me]:
    return Call("GET", "/auth/me", _model(models.Me))


# --- tasks ---


def create_task(fields: TaskFields, idempotency_key: str | None = None) -> Call[Task]:
    """A new key per create unless the caller brings one; every resend of it reuses it."""
    key = idempotency_key or str(uuid.uuid4())
    return Call(
        "POST",
        "/api/v1/tasks",
        Task.from_response,
        json=_body(models.TaskCreate, fields),
        headers={"Idempotency-Key": key},
    )


def list_tasks(filters: TaskFilters, cursor: str | None = None) -> Call[Page[Task]]:
    params = _query({**filters, "cursor": cursor})
    return Call("GET", "/api/v1/tasks", _task_page, params=params)


def get_task(task_id: str) -> Call[Task]:
    return Call("GET", f"/api/v1/tasks/{task_id}", Task.from_response)


def update_task(task: str | Task, fields: TaskFields, if_match: str | None = None) -> Call[Task]:
    return Call(
        "PATCH",
        f"/api/v1/tasks/{_task_id(task)}",
        Task.from_response,
        json=_body(models.TaskUpdate, fields),
        headers=_if_match(task, if_match),
    )


def delete_task(task: str | Task, if_match: str | None = None) -> Call[None]:
    return Call(
        "DELETE", f"/api/v1/tasks/{_task_id(task)}", _nothing, headers=_if_match(task, if_match)
    )


def restore_task(task: str | Task) -> Call[Task]:
    # Restoring twice leaves the task restored: safe to resend.
    return Call(
        "POST", f"/api/v1/tasks/{_task_id(task)}/restore", Task.from_response, reads_only=True
    )


def labels() -> Call[list[models.LabelCountPublic]]:
    return Call("GET", "/api/v1/labels", _labels)


def export_path(fmt: str) -> tuple[str, Query]:
    return "/api/v1/tasks/export", [("format", fmt)]


# --- projects ---


def create_project(name: str, description: str | None = None) -> Call[models.ProjectPublic]:
    fields: dict[str, Any] = {"name": name}
    if description is not None:
        fields["description"] = description
    return Call(
        "POST",
        "/api/v1/projects",
        _model(models.ProjectPublic),
        json=_body(models.ProjectCreate, fields),
    )


def list_projects(
    cursor: str | None = None, limit: int | None = None
) -> Call[Page[models.ProjectPublic]]:
    params = _query({"limit": limit, "cursor": cursor})
    return Call("GET", "/api/v1/projects", _projects_page, params=params)


def get_project(project_id: str) -> Call[models.ProjectPublic]:
    return Call("GET", f"/api/v1/projects/{project_id}", _model(models.ProjectPublic))


def delete_project(project_id: str) -> Call[None]:
    return Call("DELETE", f"/api/v1/projects/{project_id}", _nothing)


# --- suggestions ---


def suggest_priority(task_id: str) -> Call[models.SuggestionPublic]:
    body = _body(models.PriorityRequest, {"task_id": task_id})
    return Call("POST", "/api/v1/suggestions/priority", _model(models.SuggestionPublic), json=body)


def list_suggestions(
    task_id: str | None = None, cursor: str | None = None
) -> Call[Page[models.SuggestionPublic]]:
    params = _query({"task_id": task_id, "cursor": cursor})
    return Call("GET", "/api/v1/suggestions", _suggestions_page, params=params)


def plan(limit: int = 10, timezone: str = "UTC") -> Call[models.PlanPublic]:
    body = _body(models.PlanRequest, {"limit": limit, "timezone": timezone})
    return Call(
        "POST", "/api/v1/suggestions/plan", _model(models.PlanPublic), json=body, reads_only=True
    )


def suggestion_feedback(suggestion_id: str, accepted: bool) -> Call[models.SuggestionPublic]:
    body = _body(models.FeedbackRequest, {"accepted": accepted})
    return Call(
        "POST",
        f"/api/v1/suggestions/{suggestion_id}/feedback",
        _model(models.SuggestionPublic),
        json=body,
    )


# --- notifications and the change feed ---


def list_notifications(
    unread: bool | None = None, cursor: str | None = None
) -> Call[Page[models.Notification]]:
    params = _query({"unread": unread, "cursor": cursor})
    return Call("GET", "/api/v1/notifications", _notifications_page, params=params)


def mark_read(notification_id: str) -> Call[models.Notification]:
    return Call(
        "POST",
        f"/api/v1/notifications/{notification_id}/read",
        _model(models.Notification),
        reads_only=True,  # marking read twice leaves it read
    )


def changes(since: str | None = None, limit: int | None = None) -> Call[models.Changes]:
    params = _query({"since": since, "limit": limit})
    return Call("GET", "/api/v1/notifications/changes", _model(models.Changes), params=params)
