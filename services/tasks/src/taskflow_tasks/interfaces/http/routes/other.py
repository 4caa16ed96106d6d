"""/api/v1/labels and /api/v1/tasks/export (registered before /tasks/{id})."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from taskflow_tasks.interfaces.http.deps import Context, CurrentUser
from taskflow_tasks.interfaces.http.export import as_csv, as_ics, as_json
from taskflow_tasks.interfaces.http.schemas import LabelCountPublic, dump

router = APIRouter(prefix="/api/v1", tags=["tasks"])

_MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "ics": "text/calendar; charset=utf-8",
}


@router.get("/labels", response_model=dict[str, list[LabelCountPublic]])
async def labels(user: CurrentUser, ctx: Context) -> Response:
    counts = await ctx.tasks.labels(user.sub)
    body = {"data": [{"label": c.label, "count": c.count} for c in counts]}
    return Response(dump(body), media_type="application/json")


@router.get("/tasks/export")
async def export(
    user: CurrentUser,
    ctx: Context,
    format: Annotated[Literal["json", "csv", "ics"], Query()] = "json",
) -> Response:
    tasks = await ctx.tasks.export(user.sub, ctx.export_max_tasks)
    render = {"json": as_json, "csv": as_csv, "ics": as_ics}[format]
    return Response(
        render(tasks),
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="tasks.{format}"'},
    )
