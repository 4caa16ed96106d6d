"""The JSON shapes notifications take on the wire (REST, WebSocket frames, webhook bodies)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from taskflow_notify.cursors import encode_cursor
from taskflow_notify.models import Notification

_GROUP_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


def user_group(user_id: str) -> str:
    """The channel-layer group a user's connections join (names must be short and plain)."""
    if _GROUP_SAFE.match(user_id):
        return f"user.{user_id}"
    return "user.h." + hashlib.sha256(user_id.encode()).hexdigest()[:40]


def notification_public(n: Notification) -> dict[str, Any]:
    return {
        "id": str(n.id),
        "cursor": encode_cursor(n.seq),
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "data": n.data,
        "event_id": str(n.event_id),
        "event_type": n.event_type,
        "occurred_at": n.occurred_at.isoformat(),
        "created_at": n.created_at.isoformat(),
        "read_at": n.read_at.isoformat() if n.read_at else None,
    }


def notification_frame(n: Notification) -> dict[str, Any]:
    return {"type": "notification", **notification_public(n)}
