"""/api/v1/suggestions: suggest a priority, list, feedback, plan."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from taskflow_suggest.application import handlers
from taskflow_suggest.domain.model import TaskFacts
from taskflow_suggest.interfaces.http.cursor import decode_cursor, encode_cursor
from taskflow_suggest.interfaces.http.deps import CallerDep, DepsDep
from taskflow_suggest.interfaces.http.schemas import (
    FeedbackRequest,
    PlanItemPublic,
    PlanPublic,
    PlanRequest,
    PriorityRequest,
    SuggestionPage,
    SuggestionPublic,
)

router = APIRouter(prefix="/api/v1/suggestions", tags=["suggestions"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


@router.post(
    "/priority",
    response_model=SuggestionPublic,
    responses={404: PROBLEM, 422: PROBLEM, 503: PROBLEM},
    summary="Suggest a priority for a task (by id) or for a draft (by its fields)",
)
async def suggest_priority(
    body: PriorityRequest, deps: DepsDep, caller: CallerDep
) -> SuggestionPublic:
    if body.task_id is not None:
        suggestion = await handlers.suggest_for_task(deps, caller, body.task_id)
    else:
        draft = TaskFacts(
            title=body.title or "",
            description=body.description,
            due_at=body.due_at,
            labels=tuple(body.labels),
            priority=body.priority,
        )
        suggestion = await handlers.suggest_for_text(deps, caller, draft)
    return SuggestionPublic.of(suggestion)


@router.get(
    "",
    response_model=SuggestionPage,
    responses={400: PROBLEM, 404: PROBLEM},
    summary="Suggestions about a task (or the caller's own), latest first",
)
async def list_suggestions(
    deps: DepsDep,
    caller: CallerDep,
    task_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SuggestionPage:
    before_id = decode_cursor(cursor) if cursor else None
    # One extra row tells whether another page exists without a count query.
    rows = await handlers.list_suggestions(
        deps, caller, task_id=task_id, limit=limit + 1, before_id=before_id
    )
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].id) if len(rows) > limit and page else None
    return SuggestionPage(data=[SuggestionPublic.of(s) for s in page], next_cursor=next_cursor)


@router.post(
    "/plan",
    response_model=PlanPublic,
    responses={422: PROBLEM, 503: PROBLEM},
    summary="The caller's open tasks ranked for today",
)
async def plan(deps: DepsDep, caller: CallerDep, body: PlanRequest | None = None) -> PlanPublic:
    request = body or PlanRequest()
    items = await handlers.plan_today(deps, caller, limit=request.limit, timezone=request.timezone)
    return PlanPublic(data=[PlanItemPublic.of(item) for item in items])


@router.post(
    "/{suggestion_id}/feedback",
    response_model=SuggestionPublic,
    status_code=status.HTTP_200_OK,
    responses={403: PROBLEM, 404: PROBLEM, 422: PROBLEM, 503: PROBLEM},
    summary="Accept or reject a suggestion; accepting applies its priority to the task",
)
async def feedback(
    suggestion_id: str, body: FeedbackRequest, deps: DepsDep, caller: CallerDep
) -> SuggestionPublic:
    suggestion = await handlers.give_feedback(deps, caller, suggestion_id, accepted=body.accepted)
    return SuggestionPublic.of(suggestion)
