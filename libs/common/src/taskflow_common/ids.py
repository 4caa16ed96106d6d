"""UUIDv7 identifiers: time-ordered, so ids sort by creation and index well."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    """A RFC 9562 UUIDv7, monotonic within this process even within one millisecond."""
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            # Same (or earlier) millisecond: bump a 12-bit counter kept in rand_a so ids
            # generated in one millisecond still sort in creation order.
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            now_ms = _last_ms
        else:
            _last_ms = now_ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        rand_a = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (now_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= rand_a << 64
    value |= 0b10 << 62
    value |= rand_b
    return uuid.UUID(int=value)


def is_canonical_uuid(text: str) -> bool:
    """True for a UUID in its canonical lowercase 8-4-4-4-12 form (how Keycloak spells user ids).

    `uuid.UUID` alone also accepts braces, `urn:uuid:` and missing hyphens; ids that travel
    into URLs and keys should have exactly one spelling.
    """
    try:
        return str(uuid.UUID(text)) == text
    except (ValueError, TypeError):
        return False
