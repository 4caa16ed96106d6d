"""Opaque list cursors: the last id of a page, versioned and base64url-encoded."""

from __future__ import annotations

import base64
import binascii
import re

from taskflow_suggest.application.errors import BadCursorError

_PREFIX = "s1:"
_ID = re.compile(r"^[0-9a-f-]{36}$")


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode((_PREFIX + last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursorError(cursor) from None
    if not text.startswith(_PREFIX) or not _ID.match(text[len(_PREFIX) :]):
        raise BadCursorError(cursor)
    return text[len(_PREFIX) :]
