"""Opaque cursors: `n1` over a notification's `seq`; `f1` sync tokens over a feed position."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from taskflow_common.problems import bad_request


def _encode(prefix: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{prefix}:{value}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        number = int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_request("The cursor is not valid.", "invalid-cursor") from None
    if prefix not in {"n1", "f1"} or number < 0 or number >= 2**63:
        raise bad_request("The cursor is not valid.", "invalid-cursor")
    return prefix, number


def encode_cursor(seq: int) -> str:
    return _encode("n1", seq)


def decode_cursor(cursor: str) -> int:
    """The seq inside a notification cursor; a 400 problem for anything that is not one."""
    prefix, seq = _decode(cursor)
    if prefix != "n1":
        raise bad_request("The cursor is not valid.", "invalid-cursor")
    return seq


def encode_sync_token(position: int) -> str:
    return _encode("f1", position)


def decode_sync_token(token: str) -> int:
    """The feed position inside a sync token; a 400 problem for anything that is not one."""
    prefix, position = _decode(token)
    if prefix != "f1":
        raise bad_request("The sync token is not valid.", "invalid-cursor")
    return position


@dataclass(frozen=True)
class Since:
    """Where a reconnecting client resumes: a feed position, or (older clients) a notification."""

    feed_position: int | None = None
    notification_seq: int | None = None


def decode_since(value: str) -> Since:
    prefix, number = _decode(value)
    return Since(feed_position=number) if prefix == "f1" else Since(notification_seq=number)
