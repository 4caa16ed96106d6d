"""/api/v1/tasks: create, read, merge-patch, trash, restore, list, batch, activity."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from taskflow_common.problems import FieldError, ProblemError, not_found, validation_problem
from taskflow_tasks.application import commands as c
from taskflow_tasks.application.queries import (
    MAX_LIMIT,
    Cursor,
    Sort,
    TaskListQuery,
)
from taskflow_tasks.domain.model import Priority, Status, Task
from taskflow_tasks.interfaces.http.conditional import etag, expected_versions, none_match
from taskflow_tasks.interfaces.http.deps import ApiContext, Authed, JsonBody, parse_id
from taskflow_tasks.interfaces.http.export import as_csv, as_ics, as_json
from taskflow_tasks.interfaces.http.schemas import (
    ActivityPublic,
    BatchRequest,
    DateTime,
    PriorityName,
    StatusName,
    TaskCreate,
    TaskList,
    TaskPublic,
    TaskUpdate,
    Text,
    dump,
    task_dict,
    to_values,
)

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])
JSON = "application/json"
MAX_IDEMPOTENCY_KEY = 255


def _task_response(task: Task, status_code: int = 200, **headers: str) -> Response:
    return Response(
        dump(task_dict(task)),
        status_code=status_code,
        media_type=JSON,
        headers={"ETag": etag(task.version), **headers},
    )


@router.post("", status_code=201, response_model=TaskPublic, dependencies=[JsonBody])
async def create_task(
    body: TaskCreate,
    request: Request,
    caller: Authed,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    fingerprint = None
    if idempotency_key is not None:
        if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
            raise ProblemError(
                validation_problem(
                    [FieldError(["header", "Idempotency-Key"], "must be 1 to 255 characters")]
                )
            )
        fingerprint = hashlib.sha256(
            dump(body.model_dump(mode="json", exclude_unset=True))
        ).hexdigest()
    result = await caller.api.commands.handle(
        c.CreateTask(caller.user.sub, to_values(body, patch=False), idempotency_key, fingerprint)
    )
    headers = {"Location": f"{request.url.path.rstrip('/')}/{result.task.id}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return _task_response(result.task, 201, **headers)


def _plausible(moment: datetime | None) -> datetime | None:
    """A filter date Postgres and Python can both represent once moved to UTC."""
    if moment is not None and not 1900 <= moment.year <= 9000:
        raise ValueError("must be between the years 1900 and 9000")
    return moment


@router.get("", response_model=TaskList)
async def list_tasks(
    caller: Authed,
    status: Annotated[list[StatusName] | None, Query()] = None,
    priority: Annotated[list[PriorityName] | None, Query()] = None,
    label: Annotated[list[Annotated[Text, Query(max_length=50)]] | None, Query()] = None,
    project_id: UUID | None = None,
    assignee_id: Annotated[Text | None, Query(max_length=255)] = None,
    parent_id: UUID | None = None,
    due_before: Annotated[DateTime | None, AfterValidator(_plausible)] = None,
    due_after: Annotated[DateTime | None, AfterValidator(_plausible)] = None,
    overdue: bool | None = None,
    q: Annotated[Text | None, Query(max_length=500)] = None,
    deleted: bool = False,
    sort: Annotated[str, Query(pattern=r"^-?(due_at|priority|created_at|updated_at)$")] = (
        "created_at"
    ),
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    order = Sort.parse(sort)
    query = TaskListQuery(
        statuses=tuple(Status(s) for s in status or ()),
        priorities=tuple(Priority(p) for p in priority or ()),
        labels=tuple(label or ()),
        project_id=project_id,
        assignee_id=assignee_id,
        parent_id=parent_id,
        due_before=due_before,
        due_after=due_after,
        overdue=overdue,
        text=q.strip() or None if q else None,
        deleted=deleted,
        sort=order,
        limit=limit,
        cursor=Cursor.decode(cursor, order) if cursor else None,
    )
    page = await caller.api.tasks.list_visible(caller.user.sub, query)
    body = {"data": [task_dict(task) for task in page.items], "next_cursor": page.next_cursor}
    return Response(dump(body), media_type=JSON)


@router.post("/batch", dependencies=[JsonBody])
async def batch(body: BatchRequest, caller: Authed) -> Response:
    """Up to 100 updates/deletes, atomically: all applied, or none and the failures named."""
    operations = tuple(
        c.BatchOperation(
            op.op,
            op.id,
            to_values(op.patch, patch=True) if op.patch is not None else {},
        )
        for op in body.operations
    )
    results = await caller.api.commands.handle(c.BatchTasks(caller.user.sub, operations))
    out = []
    for result in results:
        entry: dict[str, Any] = {"op": result.op, "id": result.task_id}
        if result.task is not None:
            entry.update(status=200, task=task_dict(result.task))
        else:
            entry["status"] = 204
        out.append(entry)
    return Response(dump({"results": out}), media_type=JSON)


_MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "ics": "text/calendar; charset=utf-8",
}


@router.get(
    "/export",
    responses={
        200: {
            "description": "Every task of the caller, as a file in the format asked for.",
            "content": {
                "application/json": {},
                "text/csv": {"schema": {"type": "string"}},
                "text/calendar": {"schema": {"type": "string"}},
            },
        }
    },
)
async def export(
    caller: Authed,
    format: Annotated[Literal["json", "csv", "ics"], Query()] = "json",
) -> Response:
    tasks = await caller.api.tasks.export(caller.user.sub, caller.api.export_max_tasks)
    render = {"json": as_json, "csv": as_csv, "ics": as_ics}[format]
    # Up to export_max_tasks tasks take seconds to render (iCalendar most: ADR 109): in a
    # worker thread, so the event loop keeps serving everyone else meanwhile.
    body = await run_in_threadpool(render, tasks)
    return Response(
        body,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="tasks.{format}"'},
    )


@router.get("/{task_id}", response_model=TaskPublic)
async def get_task(
    task_id: str,
    caller: Authed,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Documents the endpoint; requests are served by `get_task_fast` (same logic)."""
    return await _read_task(caller.api, caller.user.sub, task_id, if_none_match)


async def get_task_fast(request: Request) -> Response:
    """GET /api/v1/tasks/{id} as a plain Starlette endpoint: the most frequent request,
    spared FastAPI's per-request dependency solving (measured: a third of its CPU)."""
    api: ApiContext = request.app.state.api
    user = await api.auth(request)
    return await _read_task(
        api, user.sub, str(request.path_params["task_id"]), request.headers.get("if-none-match")
    )


async def _read_task(
    api: ApiContext, user_id: str, task_id: str, if_none_match: str | None
) -> Response:
    task = await api.tasks.get_visible(user_id, parse_id(task_id))
    if task is None:
        raise not_found("no such task")
    if none_match(if_none_match, task.version):
        return Response(status_code=304, headers={"ETag": etag(task.version)})
    return _task_response(task)


# Matched before the FastAPI routes (see app.py); the FastAPI route above stays for OpenAPI.
# Only ids shaped like UUIDs match here, so /tasks/export and malformed ids reach FastAPI.
fast_routes = [Route("/api/v1/tasks/{task_id:uuid}", get_task_fast, methods=["GET"])]


@router.patch("/{task_id}", response_model=TaskPublic, dependencies=[JsonBody])
async def update_task(
    task_id: str,
    body: TaskUpdate,
    caller: Authed,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    task = await caller.api.commands.handle(
        c.UpdateTask(
            caller.user.sub,
            parse_id(task_id),
            to_values(body, patch=True),
            expected_versions(if_match),
        )
    )
    return _task_response(task)


@router.delete("/{task_id}", status_code=204)
async def delete_task(
    task_id: str,
    caller: Authed,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    await caller.api.commands.handle(
        c.DeleteTask(caller.user.sub, parse_id(task_id), expected_versions(if_match))
    )
    return Response(status_code=204)


@router.post("/{task_id}/restore", response_model=TaskPublic)
async def restore_task(task_id: str, caller: Authed) -> Response:
    task = await caller.api.commands.handle(c.RestoreTask(caller.user.sub, parse_id(task_id)))
    return _task_response(task)


@router.get("/{task_id}/activity")
async def task_activity(task_id: str, caller: Authed) -> dict[str, Any]:
    entries = await caller.api.tasks.activity(caller.user.sub, parse_id(task_id))
    if entries is None:
        raise not_found("no such task")
    return {
        "data": [
            ActivityPublic(actor_id=e.actor_id, at=e.at, action=e.action, changes=e.changes)
            for e in entries
        ]
    }
