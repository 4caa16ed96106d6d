"""/api/v1/admin/stats on suggest's own port: suggestions and their acceptance, for the
administrators' realm role (the admin service's dashboard calls it with the admin's token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from taskflow_common.auth import Principal
from taskflow_common.problems import forbidden
from taskflow_suggest.application import handlers
from taskflow_suggest.interfaces.http.deps import DepsDep


async def _admin(request: Request) -> Principal:
    principal: Principal = await request.app.state.bearer_auth(request)
    role: str = request.app.state.admin_role
    if role not in principal.roles:
        raise forbidden(f"This endpoint requires the realm role '{role}'.")
    return principal


AdminDep = Annotated[Principal, Depends(_admin)]
router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    responses={403: {"description": "The token lacks the administrators' realm role."}},
)


class SourceStats(BaseModel):
    total: int
    accepted: int
    rejected: int


class SuggestionStatsPublic(BaseModel):
    total: int
    accepted: int
    rejected: int
    acceptance_rate: float | None  # accepted / (accepted + rejected); null before feedback
    by_source: dict[str, SourceStats]  # llm, heuristic


@router.get("/stats", response_model=SuggestionStatsPublic)
async def admin_stats(deps: DepsDep, _admin: AdminDep) -> SuggestionStatsPublic:
    """Every suggestion made and the feedback on it, in all and per source."""
    stats = await handlers.admin_stats(deps)
    return SuggestionStatsPublic(
        total=stats.total,
        accepted=stats.accepted,
        rejected=stats.rejected,
        acceptance_rate=stats.acceptance_rate,
        by_source={
            source: SourceStats(total=c.suggestions, accepted=c.accepted, rejected=c.rejected)
            for source, c in stats.by_source.items()
        },
    )
