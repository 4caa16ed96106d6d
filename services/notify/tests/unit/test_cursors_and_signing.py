"""Opaque cursors and webhook signatures."""

from __future__ import annotations

import pytest

from taskflow_common.problems import ProblemError
from taskflow_notify.cursors import decode_cursor, encode_cursor
from taskflow_notify.signing import webhook_sign, webhook_signature_valid


def test_cursors_round_trip_and_foreign_ones_are_a_400() -> None:
    assert decode_cursor(encode_cursor(12345)) == 12345
    for bad in ("", "%%%", "bm90IG91cnM", encode_cursor(1)[:-1] + "!"):
        with pytest.raises(ProblemError) as refused:
            decode_cursor(bad)
        assert refused.value.problem.status == 400


def test_a_signature_covers_timestamp_and_body() -> None:
    signature = webhook_sign("secret", "1700000000", b'{"a":1}')
    assert signature.startswith("sha256=")
    assert webhook_signature_valid("secret", "1700000000", b'{"a":1}', signature, now=1700000010)
    assert not webhook_signature_valid(
        "secret", "1700000000", b'{"a":2}', signature, now=1700000010
    )
    assert not webhook_signature_valid("other", "1700000000", b'{"a":1}', signature, now=1700000010)
    assert not webhook_signature_valid(
        "secret", "1700000001", b'{"a":1}', signature, now=1700000010
    )
    # A replay of a genuine request long after the fact is refused by its timestamp.
    assert not webhook_signature_valid(
        "secret", "1700000000", b'{"a":1}', signature, now=1700009999
    )
