"""The CLI's own decisions: dates in the user's zone, short ids, exit codes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from taskflow_sdk.cli.app import _tag, explain
from taskflow_sdk.cli.dates import DateError, parse_when
from taskflow_sdk.cli.render import short_ids
from taskflow_sdk.cli.resolve import NotFound
from taskflow_sdk.errors import NotLoggedInError, TransportError, error_from_response
from taskflow_sdk.types import Task

from .test_retries import TASK  # type: ignore[import-not-found]

NOW = datetime(2026, 12, 3, 22, 30, tzinfo=UTC)  # already Friday in Tokyo


def test_tomorrow_is_the_users_tomorrow() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")

    due = parse_when("tomorrow 17:00", tokyo, now=NOW)

    assert due.astimezone(tokyo).isoformat() == "2026-12-05T17:00:00+09:00"


def test_an_unreadable_date_says_so() -> None:
    with pytest.raises(DateError, match="cannot read 'blorp'"):
        parse_when("blorp", ZoneInfo("UTC"), now=NOW)


def test_short_ids_grow_until_unique() -> None:
    a = Task.model_validate(TASK | {"id": "01a23d05-602b-72ea-9d8f-d270d1551941"})
    b = Task.model_validate(TASK | {"id": "01a23d05-602b-72ea-aaaa-d270d1551941"})
    c = Task.model_validate(TASK | {"id": "ffa23d05-602b-72ea-aaaa-d270d1551941"})

    assert short_ids([a, b, c]) == {
        str(a.id): "01a23d05-602b-72ea-9",
        str(b.id): "01a23d05-602b-72ea-a",
        str(c.id): "ffa23d05",
    }


def test_an_etag_may_be_given_without_its_quotes() -> None:
    assert _tag("v3") == '"v3"'
    assert _tag('"v3"') == '"v3"'
    assert _tag(None) is None


def problem(status: int) -> httpx.Response:
    return httpx.Response(status, json={"type": "about:blank", "title": "T", "status": status})


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (NotLoggedInError("not logged in"), 3),
        (error_from_response(problem(401)), 3),
        (error_from_response(problem(404)), 4),
        (NotFound("no task"), 4),
        (error_from_response(problem(412)), 5),
        (error_from_response(problem(409)), 5),
        (TransportError("cannot reach"), 6),
        (error_from_response(problem(429)), 7),
        (error_from_response(problem(503)), 7),
        (error_from_response(problem(422)), 1),
    ],
)
def test_each_failure_has_its_exit_code(failure: Exception, code: int) -> None:
    assert explain(failure)[0] == code
