"""Opaque keyset cursors of the admin API's lists; a malformed one is a 400 problem."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from taskflow_common.problems import bad_request


def encode(kind: str, *values: str) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(kind: str, cursor: str, arity: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The cursor is not valid.", "invalid-cursor") from None
    if (
        not isinstance(parts, list)
        or len(parts) != arity + 1
        or parts[0] != kind
        or not all(isinstance(p, str) for p in parts)
    ):
        raise bad_request("The cursor is not valid.", "invalid-cursor")
    return parts[1:]


def encode_audit(occurred_at: datetime, entry_id: UUID) -> str:
    return encode("a1", occurred_at.isoformat(), str(entry_id))


def decode_audit(cursor: str) -> tuple[datetime, UUID]:
    at, entry_id = decode("a1", cursor, 2)
    try:
        return datetime.fromisoformat(at), UUID(entry_id)
    except ValueError:
        raise bad_request("The cursor is not valid.", "invalid-cursor") from None


def encode_offset(offset: int) -> str:
    return encode("o1", str(offset))


def decode_offset(cursor: str) -> int:
    (raw,) = decode("o1", cursor, 1)
    if not raw.isdigit() or int(raw) > 1_000_000:
        raise bad_request("The cursor is not valid.", "invalid-cursor")
    return int(raw)
