"""Opaque cursors over a notification's `seq`."""

from __future__ import annotations

import base64
import binascii

from taskflow_common.problems import bad_request


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"n1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The seq inside a cursor; a 400 problem for anything that is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        seq = int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_request("The cursor is not valid.", "invalid-cursor") from None
    if prefix != "n1" or seq < 0:
        raise bad_request("The cursor is not valid.", "invalid-cursor")
    return seq
