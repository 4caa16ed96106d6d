"""List cursors are opaque, round-trip, and anything else is refused."""

from __future__ import annotations

import pytest

from taskflow_common.ids import uuid7
from taskflow_suggest.application.errors import BadCursorError
from taskflow_suggest.interfaces.http.cursor import decode_cursor, encode_cursor


def test_a_cursor_round_trips_and_does_not_show_the_id():
    last = str(uuid7())
    cursor = encode_cursor(last)
    assert last not in cursor
    assert decode_cursor(cursor) == last


@pytest.mark.parametrize(
    "bad", ["", "!!", "bm90LWEtY3Vyc29y", encode_cursor("x" * 36)[:-2], "czE6"]
)
def test_foreign_cursors_are_refused(bad):
    with pytest.raises(BadCursorError):
        decode_cursor(bad)
