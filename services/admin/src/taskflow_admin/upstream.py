"""The other services' admin APIs, called with the signed-in administrator's own token.

One pooled httpx client per process (built by the composition root). Every call carries the
administrator's bearer token, so each service checks the admin role itself and its events
name the administrator as the actor. An answer that is not JSON, a timeout or a refused
connection is an UpstreamError with the service's name; an upstream problem (4xx) keeps its
problem document so pages can show it (e.g. the task API's validation errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class UpstreamError(Exception):
    service: str
    status: int | None
    problem: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        detail = self.problem.get("detail") or self.problem.get("title") or ""
        return f"{self.service} answered {self.status or 'nothing'}: {detail}".strip(": ")

    @property
    def field_errors(self) -> list[dict[str, Any]]:
        errors = self.problem.get("errors")
        return errors if isinstance(errors, list) else []


class ServiceClient:
    def __init__(self, name: str, base_url: str, http: httpx.Client) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._http = http

    def call(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            answer = self._http.request(
                method, f"{self.base_url}{path}", params=params, json=json, headers=sent
            )
        except httpx.HTTPError as exc:
            raise UpstreamError(self.name, None, {"detail": f"unreachable: {exc}"}) from exc
        if answer.status_code >= 400:
            raise UpstreamError(self.name, answer.status_code, _problem(answer))
        return answer

    def json(self, method: str, path: str, token: str | None, **kwargs: Any) -> Any:
        answer = self.call(method, path, token, **kwargs)
        try:
            return answer.json()
        except ValueError as exc:
            raise UpstreamError(self.name, answer.status_code, {"detail": "not JSON"}) from exc


def _problem(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {"detail": answer.text[:300]}
    return body if isinstance(body, dict) else {"detail": str(body)[:300]}


@dataclass(frozen=True)
class TaskPage:
    tasks: list[dict[str, Any]]
    next_cursor: str | None
    total: int


class TasksAdminApi:
    """The tasks service's admin API (/api/v1/admin/tasks on its own port)."""

    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    def search(self, token: str, filters: dict[str, str]) -> TaskPage:
        body = self.client.json("GET", "/api/v1/admin/tasks", token, params=filters)
        return TaskPage(list(body["data"]), body.get("next_cursor"), int(body.get("total", 0)))

    def get(self, token: str, task_id: str) -> tuple[dict[str, Any], str]:
        answer = self.client.call("GET", f"/api/v1/admin/tasks/{task_id}", token)
        return answer.json(), answer.headers.get("etag", "")

    def update(
        self, token: str, task_id: str, changes: dict[str, Any], etag: str
    ) -> dict[str, Any]:
        headers = {"If-Match": etag} if etag else {}
        body: dict[str, Any] = self.client.json(
            "PATCH", f"/api/v1/admin/tasks/{task_id}", token, json=changes, headers=headers
        )
        return body

    def bulk(self, token: str, request: dict[str, Any]) -> list[dict[str, Any]]:
        body = self.client.json("POST", "/api/v1/admin/tasks/bulk", token, json=request)
        return list(body["data"])

    def stats(self, token: str) -> dict[str, Any]:
        body: dict[str, Any] = self.client.json("GET", "/api/v1/admin/stats", token)
        return body
