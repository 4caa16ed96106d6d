"""Typed errors: one class per kind of failure, each carrying the problem+json fields."""

from __future__ import annotations

from typing import Any

import httpx


class TaskFlowError(Exception):
    """Anything the SDK raises."""


class NotLoggedInError(TaskFlowError):
    """No tokens in the store: log in first."""


class TransportError(TaskFlowError):
    """The gateway could not be reached (offline, refused, DNS, TLS)."""


class RequestTimeoutError(TransportError):
    """The gateway did not answer within the client's timeout."""


class APIError(TaskFlowError):
    """An error answer from the API (RFC 9457 problem details when the server sent them)."""

    def __init__(
        self,
        status: int,
        title: str,
        *,
        type: str = "about:blank",
        detail: str | None = None,
        instance: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        problem: dict[str, Any] | None = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.instance = instance
        self.errors = errors or []
        self.problem = problem or {}
        self.headers = headers or httpx.Headers()
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"{self.status} {self.title}"
        if self.detail:
            text += f": {self.detail}"
        for error in self.errors:
            where = ".".join(str(part) for part in error.get("loc", []))
            text += f"\n  {where}: {error.get('msg', '')}".rstrip()
        return text


class BadRequestError(APIError):
    """400."""


class AuthenticationError(APIError):
    """401: wrong credentials, or a session that expired and could not be refreshed."""


class PermissionDeniedError(APIError):
    """403: visible to the caller but not theirs to change."""


class NotFoundError(APIError):
    """404: absent, or not visible to the caller (the API never says which)."""


class ConflictError(APIError):
    """409, or 412 when the resource changed since its ETag was read."""


class PreconditionFailedError(ConflictError):
    """412: If-Match named a version the resource no longer has."""


class ResyncRequiredError(APIError):
    """410 `resync`: the sync token is older than the change feed keeps; refetch."""


class ValidationError(APIError):
    """422: the request's fields were refused (`errors` says which)."""


class RateLimitedError(APIError):
    """429: too many requests; `retry_after` seconds, when the server said."""

    @property
    def retry_after(self) -> float | None:
        from taskflow_sdk.retry import retry_after_seconds

        return retry_after_seconds(self.headers.get("retry-after"))


class ServerError(APIError):
    """5xx."""


class ServiceUnavailableError(ServerError):
    """503: a dependency of the API is down; retried on idempotent calls."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: ResyncRequiredError,
    412: PreconditionFailedError,
    422: ValidationError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
}


def error_class(status: int) -> type[APIError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else APIError


def error_from_response(response: httpx.Response) -> APIError:
    """The typed error for an error answer; problem+json fields when the body has them."""
    problem: dict[str, Any] = {}
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        problem = body
    status = response.status_code
    title = problem.get("title") or response.reason_phrase or "Error"
    errors = problem.get("errors")
    return error_class(status)(
        status,
        str(title),
        type=str(problem.get("type", "about:blank")),
        detail=str(problem["detail"]) if problem.get("detail") is not None else None,
        instance=str(problem["instance"]) if problem.get("instance") is not None else None,
        errors=[e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else None,
        problem=problem,
        headers=response.headers,
    )
