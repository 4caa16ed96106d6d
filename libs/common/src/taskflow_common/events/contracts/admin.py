"""Events published by the admin service (its own; task writes emit the tasks events)."""

from __future__ import annotations

from typing import Any

from taskflow_common.events.envelope import EventData


class AuditRecordedV1(EventData):
    EVENT_TYPE = "admin.audit.recorded.v1"
    actor_id: str
    action: str
    target_type: str
    target_id: str
    changes: dict[str, Any] = {}


ADMIN_EVENTS: tuple[type[EventData], ...] = (AuditRecordedV1,)
