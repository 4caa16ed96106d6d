"""Domain errors rendered as problem+json (RFC 9457)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from taskflow_common.problems import FieldError, Problem, validation_problem
from taskflow_common.web import problem_response
from taskflow_tasks.application.handlers import BatchFailed, IdempotencyKeyReused
from taskflow_tasks.application.queries import InvalidCursor
from taskflow_tasks.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidFields,
    NotFound,
    PreconditionFailed,
)


def problem_for(exc: DomainError, body_prefix: tuple[str | int, ...] = ("body",)) -> Problem:
    match exc:
        case InvalidFields():
            errors = [FieldError([*body_prefix, v.field], v.message) for v in exc.violations]
            return validation_problem(
                errors, "Some fields are invalid: " + ", ".join(v.field for v in exc.violations)
            )
        case NotFound():
            return Problem(status=404, type="not-found", detail=str(exc))
        case Forbidden():
            return Problem(status=403, type="forbidden", detail=str(exc))
        case Conflict():
            return Problem(status=409, type="conflict", detail=str(exc))
        case PreconditionFailed():
            return Problem(status=412, type="precondition-failed", detail=str(exc))
        case InvalidCursor():
            return Problem(status=400, type="invalid-cursor", detail=str(exc))
        case IdempotencyKeyReused():
            return Problem(
                status=422,
                type="idempotency-key-reused",
                detail=str(exc),
                extensions={
                    "errors": [
                        {
                            "loc": ["header", "Idempotency-Key"],
                            "msg": str(exc),
                            "type": "idempotency_key_reused",
                        }
                    ]
                },
            )
        case BatchFailed():
            return _batch_problem(exc)
    return Problem(status=400, detail=str(exc))


def _batch_problem(exc: BatchFailed) -> Problem:
    failures = []
    statuses = set()
    for failure in exc.failures:
        inner = problem_for(failure.error, ("body", "operations", failure.index, "patch"))
        statuses.add(inner.status)
        entry = {
            "index": failure.index,
            "op": failure.op,
            "id": str(failure.task_id),
            "status": inner.status,
            "detail": inner.detail,
        }
        if "errors" in inner.extensions:
            entry["errors"] = inner.extensions["errors"]
        failures.append(entry)
    status = statuses.pop() if len(statuses) == 1 else 422
    return Problem(
        status=status,
        type="batch-failed",
        detail=f"{len(failures)} operation(s) failed; nothing was applied. Failing: "
        + ", ".join(f"#{f['index']} ({f['op']} {f['id']})" for f in failures)[:900],
        extensions={"failures": failures},
    )


def install_domain_error_handler(app: FastAPI) -> None:
    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(problem_for(exc), instance=request.url.path)

    app.add_exception_handler(DomainError, on_domain_error)
