"""Every error a FastAPI service returns is application/problem+json (RFC 9457)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from taskflow_common.problems import PROBLEM_MEDIA_TYPE, FieldError, Problem, ProblemError

log = logging.getLogger(__name__)

_MALFORMED_TYPES = {"json_invalid", "json_type"}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# RFC 9457's members as the handlers below write them; extensions (`errors`, …) are allowed.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An RFC 9457 problem detail.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}
_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def document_problem_responses(spec: dict[str, Any]) -> dict[str, Any]:
    """Describe the errors these handlers really send: every 4xx/5xx an operation documents is
    application/problem+json (FastAPI's default 422 says application/json and a different
    shape), and any other client error (404 for a missing resource, 400 for a foreign cursor,
    409 on a conflict) is covered by a `4XX` problem+json response. Server errors stay
    undocumented on purpose: none is an expected answer."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for item in spec.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, response in responses.items():
                if code[:1] in ("4", "5"):
                    response["content"] = _PROBLEM_CONTENT
            responses.setdefault(
                "4XX",
                {"description": "A client error, as problem+json.", "content": _PROBLEM_CONTENT},
            )
    return spec


def _document_problems(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problem_responses(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


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


def _internal_error(request: Request) -> JSONResponse:
    problem = Problem(status=500, type="internal", detail="An unexpected error occurred.")
    return problem_response(problem, instance=request.url.path)


def unavailable_response(request: Request, dependency: str) -> JSONResponse:
    """503 with Retry-After: the request may succeed once the dependency is back."""
    problem = Problem(
        status=503,
        type="unavailable",
        detail=f"The {dependency} is unavailable; retry shortly.",
    )
    return problem_response(problem, {"retry-after": "2"}, request.url.path)


def install_unavailable_handler(
    app: FastAPI,
    errors: tuple[type[Exception], ...],
    *,
    dependency: str,
    applies: Callable[[Exception], bool] = lambda _exc: True,
) -> None:
    """Errors that mean a dependency cannot be reached (a database restarting, a refused
    connection) answer 503 problem+json, not 500: the client's retry is the right response.
    `applies` narrows a broad class (a driver's wrapper error) to the unreachable cases."""

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        if not applies(exc):
            log.exception("unhandled error", extra={"path": request.url.path})
            return _internal_error(request)
        log.warning(
            "%s unavailable",
            dependency,
            extra={"path": request.url.path, "error": repr(exc)[:300]},
        )
        return unavailable_response(request, dependency)

    for error in errors:
        app.add_exception_handler(error, on_unavailable)


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
        return _internal_error(request)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
    _document_problems(app)
