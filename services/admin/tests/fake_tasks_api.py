"""A fake of the tasks service's admin API (the contract in the tasks service's OpenAPI),
served in-process through httpx's transport: what the console's own tests run against, so
they can count the calls a page makes. The real service is exercised by the e2e tests."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

PRIORITIES = ("none", "low", "medium", "high", "urgent")


def make_task(n: int, now: datetime) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=n + 1)),
        "title": f"Task {n:04d}",
        "description": "",
        "status": "todo" if n % 3 else "done",
        "priority": PRIORITIES[n % 5],
        "due_at": (now + timedelta(hours=n - 500)).isoformat(),
        "start_at": None,
        "completed_at": None,
        "labels": [],
        "project_id": None,
        "assignee_id": None,
        "parent_id": None,
        "owner_id": f"owner-{n % 7}",
        "recurrence": None,
        "reminders": [],
        "position": float(n),
        "version": 1,
        "created_at": now.isoformat(),
        "updated_at": now.isoformat(),
        "deleted_at": None,
    }


class FakeTasksAdminApi:
    def __init__(self, count: int) -> None:
        now = datetime.now(UTC)
        self.tasks = {t["id"]: t for t in (make_task(n, now) for n in range(count))}
        self.calls: list[httpx.Request] = []
        self.tokens: set[str] = set()

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        self.tokens.add(request.headers.get("authorization", ""))
        path = request.url.path
        if path == "/readyz":
            return httpx.Response(200, json={"status": "ready"})
        if path == "/api/v1/admin/stats":
            return httpx.Response(200, json=self.stats())
        if path == "/api/v1/admin/tasks" and request.method == "GET":
            return self._list(request)
        if path == "/api/v1/admin/tasks/bulk":
            return self._bulk(json.loads(request.content))
        task_id = path.rsplit("/", 1)[-1]
        task = self.tasks.get(task_id)
        if task is None:
            return _problem(404, "not-found", "No such task.")
        if request.method == "GET":
            return httpx.Response(200, json=task, headers={"ETag": f'"{task["version"]}"'})
        return self._patch(task, request)

    def stats(self) -> dict[str, Any]:
        today = datetime.now(UTC).date()
        return {
            "by_status": {"todo": 666, "in_progress": 0, "done": 334, "cancelled": 0},
            "by_priority": dict.fromkeys(PRIORITIES, 200),
            "overdue": 333,
            "per_day": [
                {
                    "date": (today - timedelta(days=29 - d)).isoformat(),
                    "created": d,
                    "completed": d // 2,
                }
                for d in range(30)
            ],
        }

    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        rows = sorted(self.tasks.values(), key=lambda t: t["position"])
        if params.get("overdue") == "true":
            now = datetime.now(UTC).isoformat()
            rows = [t for t in rows if t["status"] == "todo" and t["due_at"] < now]
        if params.get("priority"):
            rows = [t for t in rows if t["priority"] == params["priority"]]
        if params.get("sort") == "-due_at":
            rows.reverse()
        start = int(base64.b64decode(params["cursor"])) if params.get("cursor") else 0
        limit = int(params.get("limit", 50))
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        cursor = base64.b64encode(str(start + limit).encode()).decode() if more else None
        return httpx.Response(200, json={"data": page, "next_cursor": cursor, "total": len(rows)})

    def _bulk(self, body: dict[str, Any]) -> httpx.Response:
        results = []
        for task_id in body["ids"]:
            task = self.tasks.get(task_id)
            if task is None:
                results.append(
                    {
                        "id": task_id,
                        "ok": False,
                        "problem": {
                            "type": "not-found",
                            "title": "Not Found",
                            "status": 404,
                            "detail": "No such task.",
                        },
                    }
                )
                continue
            if body["action"] == "set_priority":
                task["priority"] = body["priority"]
            task["version"] += 1
            results.append({"id": task_id, "ok": True})
        return httpx.Response(200, json={"data": results})

    def _patch(self, task: dict[str, Any], request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-match") != f'"{task["version"]}"':
            return _problem(412, "precondition-failed", "The task changed meanwhile.")
        changes = json.loads(request.content)
        if "title" in changes and not str(changes["title"]).strip():
            return _problem(
                422,
                "validation-error",
                "Some fields are invalid: title",
                errors=[
                    {
                        "loc": ["body", "title"],
                        "msg": "the title must not be blank",
                        "type": "value_error",
                    }
                ],
            )
        task.update(changes)
        task["version"] += 1
        return httpx.Response(200, json=task, headers={"ETag": f'"{task["version"]}"'})


def _problem(status: int, type_: str, detail: str, **extra: Any) -> httpx.Response:
    return httpx.Response(
        status,
        json={"type": type_, "title": type_, "status": status, "detail": detail, **extra},
        headers={"content-type": "application/problem+json"},
    )
