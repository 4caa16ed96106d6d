"""Error answers become typed errors that carry the problem+json fields."""

from __future__ import annotations

import httpx
import pytest

from taskflow_sdk import (
    APIError,
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    ServerError,
    ValidationError,
)
from taskflow_sdk.errors import error_from_response


def test_a_412_is_a_conflict_with_the_servers_words() -> None:
    problem = {
        "type": "about:blank",
        "title": "Precondition Failed",
        "status": 412,
        "detail": "the task changed since you read it; fetch it again",
        "instance": "/api/v1/tasks/1",
    }
    error = error_from_response(httpx.Response(412, json=problem))

    assert isinstance(error, PreconditionFailedError)
    assert isinstance(error, ConflictError)
    assert error.detail == problem["detail"]
    assert error.instance == "/api/v1/tasks/1"
    assert (
        str(error) == "412 Precondition Failed: the task changed since you read it; fetch it again"
    )


def test_validation_errors_name_their_fields() -> None:
    problem = {
        "type": "validation",
        "title": "Unprocessable",
        "status": 422,
        "errors": [{"loc": ["body", "title"], "msg": "too long", "type": "string_too_long"}],
    }
    error = error_from_response(httpx.Response(422, json=problem))

    assert isinstance(error, ValidationError)
    assert error.errors[0]["msg"] == "too long"
    assert "body.title: too long" in str(error)


@pytest.mark.parametrize(
    ("status", "kind"), [(404, NotFoundError), (500, ServerError), (418, APIError)]
)
def test_an_answer_without_a_problem_body_still_has_a_type(
    status: int, kind: type[APIError]
) -> None:
    error = error_from_response(httpx.Response(status, text="<html>oops</html>"))

    assert type(error) is kind
    assert error.status == status
    assert error.title
