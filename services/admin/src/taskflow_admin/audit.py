"""The audit log's write side: every administrative action is recorded here, then published.

`record_action` commits the entry (who, what, which object, before and after); once the
transaction has committed it wakes the audit relay, which publishes the entry as
`admin.audit.recorded.v1` (ADR 0014). Callers record after the upstream call answered, with
the state it returned, so an entry says what happened, not what was attempted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import router, transaction

from taskflow_admin.models import AuditEntry
from taskflow_common.events.contracts.admin import AuditRecordedV1
from taskflow_common.events.envelope import RawEnvelope, new_envelope


@dataclass(frozen=True)
class Actor:
    """The administrator acting: their identity-provider id (the token's `sub`) and name."""

    id: str
    username: str


_wakers: list[Any] = []


def on_recorded(wake: Any) -> None:
    """Register a callable run after each committed entry (the relay's wake-up)."""
    _wakers.append(wake)


def off_recorded(wake: Any) -> None:
    if wake in _wakers:
        _wakers.remove(wake)


def _wake_relays() -> None:
    for wake in list(_wakers):
        wake()


def record_action(
    actor: Actor,
    *,
    action: str,
    target_type: str,
    target_id: str = "",
    before: Any = None,
    after: Any = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    alias = router.db_for_write(AuditEntry)
    with transaction.atomic(using=alias):
        entry = AuditEntry.objects.using(alias).create(
            actor_id=actor.id,
            actor_username=actor.username,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            before=before,
            after=after,
            detail=detail or {},
        )
        transaction.on_commit(_wake_relays, using=alias)
    return entry


def audit_event(entry: AuditEntry) -> RawEnvelope:
    """The entry as its integration event; the event id is the entry's, so consumers can
    deduplicate a republished entry."""
    data = AuditRecordedV1(
        actor_id=entry.actor_id,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        changes={"before": entry.before, "after": entry.after},
    )
    return new_envelope(
        data, subject=entry.actor_id, occurred_at=entry.occurred_at, event_id=entry.id
    )


def audit_entry_public(entry: AuditEntry) -> dict[str, Any]:
    """The API's view of an entry (the outbox bookkeeping stays inside)."""
    return {
        "id": str(entry.id),
        "occurred_at": entry.occurred_at.isoformat(),
        "actor": {"id": entry.actor_id, "username": entry.actor_username},
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "before": entry.before,
        "after": entry.after,
        "detail": entry.detail,
        "published": entry.published_at is not None,
    }
