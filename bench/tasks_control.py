"""The benchmark's control: a minimal raw Starlette + asyncpg app that reads the same rows as
the tasks service, with the same JWT verification (taskflow_common's JwtVerifier).

Run by bench/tasks_api.py as its own process:
  python bench/tasks_control.py PORT DATABASE_URL ISSUER JWKS_URL
"""

from __future__ import annotations

import contextlib
import json
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from taskflow_common.auth import InvalidTokenError, JwksCache, JwtVerifier, http_jwks_source

COLUMNS = (
    "id, owner_id, project_id, assignee_id, parent_id, title, description, status, priority,"
    " due_at, start_at, completed_at, labels, recurrence, reminders, position, version,"
    " created_at, updated_at, deleted_at"
)
VISIBLE = (
    "(owner_id = $1 OR project_id IN (SELECT project_id FROM tasks.members WHERE user_id = $1))"
)
PRIORITIES = ("none", "low", "medium", "high", "urgent")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(type(value))


def _task(row: asyncpg.Record) -> dict[str, Any]:
    task = dict(row)
    task["priority"] = PRIORITIES[task["priority"]]
    task["labels"] = json.loads(task["labels"])
    task["reminders"] = json.loads(task["reminders"])
    return task


def build(database_url: str, issuer: str, jwks_url: str) -> Starlette:
    verifier = JwtVerifier(
        issuer=issuer, audience="taskflow-api", jwks=JwksCache(http_jwks_source(jwks_url))
    )
    state: dict[str, asyncpg.Pool] = {}

    async def user_of(request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        try:
            return (await verifier.averify(token)).sub
        except InvalidTokenError:
            return None

    async def get_task(request: Request) -> Response:
        user = await user_of(request)
        if user is None:
            return Response(status_code=401)
        try:
            task_id = uuid.UUID(request.path_params["task_id"])
        except ValueError:
            return Response(status_code=404)
        row = await state["pool"].fetchrow(
            f"SELECT {COLUMNS} FROM tasks.tasks WHERE id = $2 AND deleted_at IS NULL AND {VISIBLE}",
            user,
            task_id,
        )
        if row is None:
            return Response(status_code=404)
        return Response(json.dumps(_task(row), default=_default), media_type="application/json")

    async def list_tasks(request: Request) -> Response:
        user = await user_of(request)
        if user is None:
            return Response(status_code=401)
        limit = int(request.query_params.get("limit", "50"))
        rows = await state["pool"].fetch(
            f"SELECT {COLUMNS} FROM tasks.tasks WHERE deleted_at IS NULL AND {VISIBLE}"
            " ORDER BY created_at, id LIMIT $2",
            user,
            limit + 1,
        )
        body = {"data": [_task(r) for r in rows[:limit]], "next_cursor": None}
        return Response(json.dumps(body, default=_default), media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
        state["pool"] = await asyncpg.create_pool(dsn, min_size=5, max_size=10)
        yield
        await state["pool"].close()

    return Starlette(
        routes=[Route("/api/v1/tasks", list_tasks), Route("/api/v1/tasks/{task_id}", get_task)],
        lifespan=lifespan,
    )


if __name__ == "__main__":
    port, url, iss, jwks = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    uvicorn.run(
        build(url, iss, jwks),
        host="127.0.0.1",
        port=int(port),
        log_level="warning",
        access_log=False,
    )
