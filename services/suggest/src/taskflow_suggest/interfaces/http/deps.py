"""FastAPI dependencies: the use-case dependencies and the calling user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from taskflow_common.auth import Principal
from taskflow_suggest.application.handlers import SuggestDeps
from taskflow_suggest.application.ports import Caller


def _deps(request: Request) -> SuggestDeps:
    deps: SuggestDeps = request.app.state.suggest_deps
    return deps


async def _caller(request: Request) -> Caller:
    principal: Principal = await request.app.state.bearer_auth(request)
    # BearerAuth accepted the header, so it is "Bearer <token>".
    token = request.headers["authorization"].partition(" ")[2].strip()
    return Caller(user_id=principal.sub, token=token)


DepsDep = Annotated[SuggestDeps, Depends(_deps)]
CallerDep = Annotated[Caller, Depends(_caller)]
