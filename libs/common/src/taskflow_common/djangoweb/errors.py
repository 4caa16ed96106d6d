"""Every error a Django service returns is application/problem+json (RFC 9457)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.views import exception_handler as drf_default_handler

from taskflow_common.problems import PROBLEM_MEDIA_TYPE, FieldError, Problem, ProblemError

log = logging.getLogger(__name__)


def problem_json(
    problem: Problem, *, instance: str | None = None, headers: dict[str, str] | None = None
) -> JsonResponse:
    body = problem.to_dict()
    if instance and "instance" not in body:
        body["instance"] = instance
    response = JsonResponse(body, status=problem.status, content_type=PROBLEM_MEDIA_TYPE)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def _field_errors(detail: Any, loc: tuple[str | int, ...] = ()) -> list[FieldError]:
    if isinstance(detail, dict):
        return [e for k, v in detail.items() for e in _field_errors(v, (*loc, str(k)))]
    if isinstance(detail, list):
        if all(not isinstance(d, (dict, list)) for d in detail):
            return [
                FieldError(loc=loc or ("body",), msg=str(d), type=getattr(d, "code", "invalid"))
                for d in detail
            ]
        return [e for i, d in enumerate(detail) for e in _field_errors(d, (*loc, i))]
    return [
        FieldError(loc=loc or ("body",), msg=str(detail), type=getattr(detail, "code", "invalid"))
    ]


def _problem_for(exc: Exception) -> tuple[Problem, dict[str, str]] | None:
    if isinstance(exc, ProblemError):
        return exc.problem, exc.headers
    if isinstance(exc, RequestDataTooBig):
        return Problem(
            status=413,
            type="payload-too-large",
            detail="The request body is larger than this endpoint accepts.",
        ), {}
    if isinstance(exc, Http404):
        return Problem(status=404, type="not-found", detail="The resource does not exist."), {}
    if isinstance(exc, drf.ParseError):
        return Problem(status=400, type="malformed-body", detail=str(exc.detail)), {}
    if isinstance(exc, drf.ValidationError):
        fields = _field_errors(exc.detail)
        return Problem(
            status=422,
            type="validation-error",
            detail="Some fields are invalid: "
            + ", ".join(".".join(str(p) for p in f.loc) for f in fields)[:500],
            extensions={"errors": [f.to_dict() for f in fields]},
        ), {}
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        return Problem(status=401, type="invalid-token", detail=str(exc.detail)), {
            "WWW-Authenticate": 'Bearer error="invalid_token"'
        }
    if isinstance(exc, drf.PermissionDenied):
        return Problem(status=403, type="forbidden", detail=str(exc.detail)), {}
    if isinstance(exc, drf.NotFound):
        return Problem(status=404, type="not-found", detail=str(exc.detail)), {}
    if isinstance(exc, drf.APIException):
        return Problem(status=exc.status_code, detail=str(exc.detail)), {}
    if isinstance(exc, SuspiciousOperation):
        return Problem(status=400, type="bad-request", detail="The request was refused."), {}
    return None


def drf_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """DRF's EXCEPTION_HANDLER: problem+json for every error, a 500 problem for the unexpected."""
    request = context.get("request")
    path = request.path if request is not None else None
    found = _problem_for(exc)
    if found is None:
        # Let DRF translate what it knows (e.g. Django's PermissionDenied); else it's a bug.
        response = drf_default_handler(exc, context)
        if response is not None:
            return problem_json(Problem(status=response.status_code), instance=path)
        log.exception("unhandled error", extra={"path": path})
        return problem_json(
            Problem(status=500, type="internal", detail="An unexpected error occurred."),
            instance=path,
        )
    problem, headers = found
    return problem_json(problem, instance=path, headers=headers)


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_json(
        Problem(status=400, type="bad-request", detail="The request could not be understood."),
        instance=request.path,
    )


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_json(Problem(status=403, type="forbidden"), instance=request.path)


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_json(
        Problem(status=404, type="not-found", detail="The resource does not exist."),
        instance=request.path,
    )


def handler500(request: HttpRequest) -> JsonResponse:
    return problem_json(
        Problem(status=500, type="internal", detail="An unexpected error occurred."),
        instance=request.path,
    )
