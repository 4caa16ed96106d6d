"""/api/v1/projects: sharing. Members see the project's tasks; owners manage it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from taskflow_common.problems import not_found
from taskflow_tasks.application import commands as c
from taskflow_tasks.application.queries import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ProjectCursor,
    ProjectListQuery,
    ProjectView,
)
from taskflow_tasks.domain.model import Project
from taskflow_tasks.interfaces.http.deps import Authed, JsonBody, parse_id
from taskflow_tasks.interfaces.http.schemas import (
    MemberIn,
    ProjectCreate,
    ProjectList,
    ProjectPublic,
    ProjectUpdate,
    dump,
    project_dict,
)

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])
JSON = "application/json"


def _response(project: Project, user_id: str, status_code: int = 200, **headers: str) -> Response:
    role = project.role_of(user_id)
    assert role is not None
    return Response(
        dump(project_dict(ProjectView(project, role))),
        status_code=status_code,
        media_type=JSON,
        headers=headers,
    )


@router.post("", status_code=201, response_model=ProjectPublic, dependencies=[JsonBody])
async def create_project(body: ProjectCreate, request: Request, caller: Authed) -> Response:
    project = await caller.api.commands.handle(
        c.CreateProject(caller.user.sub, body.name, body.description or "")
    )
    location = f"{request.url.path.rstrip('/')}/{project.id}"
    return _response(project, caller.user.sub, 201, Location=location)


@router.get("", response_model=ProjectList)
async def list_projects(
    caller: Authed,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """The caller's projects in creation (id) order, a page at a time: follow `next_cursor`
    until it is null. Bounds and cursor errors are the tasks list's (422 / 400)."""
    query = ProjectListQuery(limit, ProjectCursor.decode(cursor) if cursor else None)
    page = await caller.api.projects.list_visible(caller.user.sub, query)
    body = {"data": [project_dict(v) for v in page.items], "next_cursor": page.next_cursor}
    return Response(dump(body), media_type=JSON)


@router.get("/{project_id}", response_model=ProjectPublic)
async def get_project(project_id: str, caller: Authed) -> Response:
    view = await caller.api.projects.get_visible(caller.user.sub, parse_id(project_id, "project"))
    if view is None:
        raise not_found("no such project")
    return Response(dump(project_dict(view)), media_type=JSON)


@router.patch("/{project_id}", response_model=ProjectPublic, dependencies=[JsonBody])
async def update_project(project_id: str, body: ProjectUpdate, caller: Authed) -> Response:
    patch = {name: getattr(body, name) for name in body.model_fields_set}
    project = await caller.api.commands.handle(
        c.UpdateProject(caller.user.sub, parse_id(project_id, "project"), patch)
    )
    return _response(project, caller.user.sub)


@router.delete("/{project_id}", status_code=204)
async def delete_project(project_id: str, caller: Authed) -> Response:
    await caller.api.commands.handle(
        c.DeleteProject(caller.user.sub, parse_id(project_id, "project"))
    )
    return Response(status_code=204)


@router.post("/{project_id}/members", response_model=ProjectPublic, dependencies=[JsonBody])
async def set_member(project_id: str, body: MemberIn, caller: Authed) -> Response:
    """Adds a member (201) or changes an existing member's role (200)."""
    change = await caller.api.commands.handle(
        c.SetMember(caller.user.sub, parse_id(project_id, "project"), body.user_id, body.role)
    )
    return _response(change.project, caller.user.sub, 201 if change.added else 200)


@router.delete("/{project_id}/members/{user_id}", status_code=204)
async def remove_member(project_id: str, user_id: str, caller: Authed) -> Response:
    if "\x00" in user_id:  # no user id holds one (and Postgres text cannot)
        raise not_found("no such member")
    await caller.api.commands.handle(
        c.RemoveMember(caller.user.sub, parse_id(project_id, "project"), user_id)
    )
    return Response(status_code=204)
