"""/api/v1/admin/*: every user's tasks for the administrators (realm role, ADR 0112).

Reads come from the admin read side; every write is the user API's own command, marked
`as_admin`, so the same handlers, domain rules and events apply with the administrator as
the actor.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response

from taskflow_common.problems import not_found
from taskflow_tasks.application import commands as c
from taskflow_tasks.application.admin_queries import ADMIN_MAX_LIMIT, AdminTaskListQuery
from taskflow_tasks.application.queries import Cursor, Sort
from taskflow_tasks.domain.errors import DomainError
from taskflow_tasks.domain.model import Priority, Status, Task
from taskflow_tasks.interfaces.http.admin_schemas import (
    AdminBulkRequest,
    AdminBulkResult,
    AdminTaskList,
    AdminTaskStats,
)
from taskflow_tasks.interfaces.http.conditional import etag, expected_versions, none_match
from taskflow_tasks.interfaces.http.deps import AdminAuthed, Caller, JsonBody, parse_id
from taskflow_tasks.interfaces.http.errors import problem_for
from taskflow_tasks.interfaces.http.schemas import (
    PriorityName,
    StatusName,
    TaskPublic,
    TaskUpdate,
    Text,
    dump,
    task_dict,
    to_values,
)

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    responses={403: {"description": "The token lacks the administrators' realm role."}},
)
JSON = "application/json"


def _task_response(task: Task) -> Response:
    return Response(dump(task_dict(task)), media_type=JSON, headers={"ETag": etag(task.version)})


@router.get("/tasks", response_model=AdminTaskList)
async def list_tasks(
    admin: AdminAuthed,
    q: Annotated[Text | None, Query(max_length=500)] = None,
    status: Annotated[list[StatusName] | None, Query()] = None,
    priority: Annotated[list[PriorityName] | None, Query()] = None,
    overdue: bool | None = None,
    project_id: UUID | None = None,
    owner_id: Annotated[Text | None, Query(max_length=255)] = None,
    assignee_id: Annotated[Text | None, Query(max_length=255)] = None,
    deleted: bool = False,
    sort: Annotated[str, Query(pattern=r"^-?(due_at|created_at|priority)$")] = "-created_at",
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=ADMIN_MAX_LIMIT)] = 50,
) -> Response:
    """Every user's tasks (the trash instead with deleted=true), with the total that match."""
    order = Sort.parse(sort)
    query = AdminTaskListQuery(
        statuses=tuple(Status(s) for s in status or ()),
        priorities=tuple(Priority(p) for p in priority or ()),
        overdue=overdue,
        project_id=project_id,
        owner_id=owner_id,
        assignee_id=assignee_id,
        text=q.strip() or None if q else None,
        deleted=deleted,
        sort=order,
        limit=limit,
        cursor=Cursor.decode(cursor, order) if cursor else None,
    )
    page = await admin.api.admin_tasks.list(query)
    body = {
        "data": [task_dict(task) for task in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }
    return Response(dump(body), media_type=JSON)


@router.get("/tasks/{task_id}", response_model=TaskPublic)
async def get_task(
    task_id: str,
    admin: AdminAuthed,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Any task, trashed ones included (deleted_at says so)."""
    task = await admin.api.admin_tasks.get(parse_id(task_id))
    if task is None:
        raise not_found("no such task")
    if none_match(if_none_match, task.version):
        return Response(status_code=304, headers={"ETag": etag(task.version)})
    return _task_response(task)


@router.patch("/tasks/{task_id}", response_model=TaskPublic, dependencies=[JsonBody])
async def update_task(
    task_id: str,
    body: TaskUpdate,
    admin: AdminAuthed,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A merge patch, validated as the user API validates it, applied as the administrator."""
    task = await admin.api.commands.handle(
        c.UpdateTask(
            admin.user.sub,
            parse_id(task_id),
            to_values(body, patch=True),
            expected_versions(if_match),
            as_admin=True,
        )
    )
    return _task_response(task)


def _bulk_command(admin: Caller, body: AdminBulkRequest, task_id: UUID) -> c.Command[Any]:
    actor = admin.user.sub
    match body.action:
        case "set_priority":
            return c.UpdateTask(actor, task_id, {"priority": body.priority}, as_admin=True)
        case "reassign":
            return c.UpdateTask(actor, task_id, {"assignee_id": body.assignee_id}, as_admin=True)
        case "complete":
            return c.UpdateTask(actor, task_id, {"status": "done"}, as_admin=True)
        case "trash":
            return c.DeleteTask(actor, task_id, as_admin=True)
        case "restore":
            return c.RestoreTask(actor, task_id, as_admin=True)
    raise AssertionError(body.action)  # the schema allows only the actions above


@router.post("/tasks/bulk", response_model=AdminBulkResult, dependencies=[JsonBody])
async def bulk(body: AdminBulkRequest, admin: AdminAuthed) -> Response:
    """One action on up to 500 tasks, each its own command and transaction: one task's
    refusal (a problem in its entry) leaves the others applied."""
    results = []
    for task_id in dict.fromkeys(body.ids):  # each task once, in the order given
        entry: dict[str, Any] = {"id": task_id, "ok": True}
        try:
            await admin.api.commands.handle(_bulk_command(admin, body, task_id))
        except DomainError as exc:
            problem = problem_for(exc).to_dict()
            entry.update(ok=False, problem=problem)
        results.append(entry)
    return Response(dump({"data": results}), media_type=JSON)


@router.get("/stats", response_model=AdminTaskStats)
async def stats(admin: AdminAuthed) -> Response:
    """Live tasks by status and priority, the overdue ones, and the last 30 days (UTC)."""
    figures = await admin.api.admin_tasks.stats()
    body = {
        "by_status": figures.by_status,
        "by_priority": figures.by_priority,
        "overdue": figures.overdue,
        "per_day": [
            {"date": d.day.isoformat(), "created": d.created, "completed": d.completed}
            for d in figures.per_day
        ],
    }
    return Response(dump(body), media_type=JSON)
