"""Webhook signatures (pure): receivers verify them with the shared secret."""

from __future__ import annotations

import hashlib
import hmac


def webhook_sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>")."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def webhook_signature_valid(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float, tolerance: float = 300
) -> bool:
    """What a receiver does: constant-time compare, and refuse stale timestamps (replays)."""
    try:
        if abs(now - int(timestamp)) > tolerance:
            return False
    except ValueError:
        return False
    return hmac.compare_digest(webhook_sign(secret, timestamp, body), signature)
