"""Every error a FastAPI service returns is application/problem+json (RFC 9457)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from taskflow_common.problems import PROBLEM_MEDIA_TYPE, FieldError, Problem, ProblemError

log = logging.getLogger(__name__)

_MALFORMED_TYPES = {"json_invalid", "json_type"}


def problem_response(
    problem: Problem, headers: dict[str, str] | None = None, instance: str | None = None
) -> JSONResponse:
    body = problem.to_dict()
    if instance and "instance" not in body:
        body["instance"] = instance
    return JSONResponse(
        body, status_code=problem.status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _field_errors(errors: list[dict[str, Any]]) -> list[FieldError]:
    return [
        FieldError(
            loc=[str(p) if not isinstance(p, int) else p for p in e.get("loc", ())],
            msg=str(e.get("msg", "invalid")),
            type=str(e.get("type", "value_error")),
        )
        for e in errors
    ]


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(exc.problem, exc.headers, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        if any(e.get("type") in _MALFORMED_TYPES for e in errors):
            # Syntax, not semantics: the body is not JSON (or not an object) at all.
            problem = Problem(
                status=400, type="malformed-body", detail="The request body is not valid JSON."
            )
            return problem_response(problem, instance=request.url.path)
        fields = _field_errors(errors)
        problem = Problem(
            status=422,
            type="validation-error",
            detail="Some fields are invalid: "
            + ", ".join(".".join(str(p) for p in f.loc) for f in fields)[:500],
            extensions={"errors": [f.to_dict() for f in fields]},
        )
        return problem_response(problem, instance=request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        problem = Problem(status=exc.status_code, detail=str(exc.detail) if exc.detail else None)
        return problem_response(problem, dict(exc.headers or {}), request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        problem = Problem(status=500, type="internal", detail="An unexpected error occurred.")
        return problem_response(problem, instance=request.url.path)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
