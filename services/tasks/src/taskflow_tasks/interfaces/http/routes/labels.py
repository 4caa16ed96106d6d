"""/api/v1/labels: the caller's labels with counts."""

from __future__ import annotations

from fastapi import APIRouter, Response

from taskflow_tasks.interfaces.http.deps import Authed
from taskflow_tasks.interfaces.http.schemas import LabelCountPublic, dump

router = APIRouter(prefix="/api/v1", tags=["tasks"])


@router.get("/labels", response_model=dict[str, list[LabelCountPublic]])
async def labels(caller: Authed) -> Response:
    counts = await caller.api.tasks.labels(caller.user.sub)
    body = {"data": [{"label": c.label, "count": c.count} for c in counts]}
    return Response(dump(body), media_type="application/json")
