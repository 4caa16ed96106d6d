"""Request dependencies as Annotated aliases; everything comes from the app's ApiContext."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from taskflow_common.auth import Principal
from taskflow_common.health import ReadinessCheck
from taskflow_common.problems import Problem, ProblemError, forbidden, not_found
from taskflow_common.web import BearerAuth
from taskflow_tasks.application.admin_queries import AdminTaskQueries
from taskflow_tasks.application.handlers import CommandBus
from taskflow_tasks.application.queries import ProjectQueries, TaskQueries


@dataclass
class ApiContext:
    """What the routes need, built by the composition root (bootstrap)."""

    commands: CommandBus
    tasks: TaskQueries
    projects: ProjectQueries
    auth: BearerAuth
    readiness: Callable[[], Sequence[ReadinessCheck]]
    refresh_gauges: Callable[[], Awaitable[None]]
    admin_tasks: AdminTaskQueries
    export_max_tasks: int = 10_000
    admin_role: str = "admin"  # the realm role the admin API requires (TASKFLOW_ADMIN_ROLE)


# Dependencies are `async def` on purpose: FastAPI runs plain `def` ones in a thread pool,
# a thread hop per request on the hot path.
async def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.api
    return context


async def current_principal(request: Request) -> Principal:
    principal: Principal = await request.app.state.api.auth(request)
    return principal


@dataclass(frozen=True, slots=True)
class Caller:
    """The verified caller and the API's context: one dependency per request, not two."""

    user: Principal
    api: ApiContext


async def authenticated_caller(request: Request) -> Caller:
    api: ApiContext = request.app.state.api
    return Caller(await api.auth(request), api)


async def admin_caller(request: Request) -> Caller:
    """A caller whose verified token carries the administrators' realm role; anyone else
    with a valid token gets a 403 naming the role (a 401 without one)."""
    api: ApiContext = request.app.state.api
    user = await api.auth(request)
    if api.admin_role not in user.roles:
        raise forbidden(f"This endpoint requires the realm role '{api.admin_role}'.")
    return Caller(user, api)


Context = Annotated[ApiContext, Depends(get_context)]
CurrentUser = Annotated[Principal, Depends(current_principal)]
Authed = Annotated[Caller, Depends(authenticated_caller)]
AdminAuthed = Annotated[Caller, Depends(admin_caller)]


def parse_id(raw: str, what: str = "task") -> UUID:
    """Ids that are not UUIDs name nothing: a 404, like any unknown id."""
    try:
        return UUID(raw)
    except ValueError:
        raise not_found(f"no such {what}") from None


async def require_json(request: Request) -> None:
    """JSON bodies only (merge-patch JSON included); anything else is a 415."""
    content_type = request.headers.get("content-type")
    if content_type is None:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise ProblemError(
            Problem(
                status=415,
                type="unsupported-media-type",
                detail="send application/json (or application/merge-patch+json)",
            )
        )


JsonBody = Depends(require_json)
