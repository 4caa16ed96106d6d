"""RFC 9457 problem details: the one error shape every TaskFlow service answers with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://taskflow.dev/problems/"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Problem:
    """A problem+json body. `type` is a short slug expanded under PROBLEM_TYPE_BASE."""

    status: int
    type: str = "about:blank"
    title: str | None = None
    detail: str | None = None
    instance: str | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type
            if self.type == "about:blank" or "://" in self.type
            else PROBLEM_TYPE_BASE + self.type,
            "title": self.title or _TITLES.get(self.status, "Error"),
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if self.instance:
            body["instance"] = self.instance
        for key, value in self.extensions.items():
            if key not in body:
                body[key] = value
        return body


class ProblemError(Exception):
    """Raise anywhere below the interface layer; the web glue renders it as problem+json."""

    def __init__(self, problem: Problem, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(problem.detail or problem.title or str(problem.status))
        self.problem = problem
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class FieldError:
    """One offending input field: a JSON-pointer-ish location and why."""

    loc: Sequence[str | int]
    msg: str
    type: str = "value_error"

    def to_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


def validation_problem(errors: Sequence[FieldError], detail: str | None = None) -> Problem:
    return Problem(
        status=422,
        type="validation-error",
        detail=detail or "The request is well-formed but some fields are invalid.",
        extensions={"errors": [e.to_dict() for e in errors]},
    )


def not_found(detail: str = "The resource does not exist.") -> ProblemError:
    return ProblemError(Problem(status=404, type="not-found", detail=detail))


def bad_request(detail: str, type_: str = "bad-request") -> ProblemError:
    return ProblemError(Problem(status=400, type=type_, detail=detail))


def forbidden(detail: str = "You may see this resource but not change it.") -> ProblemError:
    return ProblemError(Problem(status=403, type="forbidden", detail=detail))


def unauthorized(detail: str = "A valid bearer token is required.") -> ProblemError:
    return ProblemError(
        Problem(status=401, type="invalid-token", detail=detail),
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
