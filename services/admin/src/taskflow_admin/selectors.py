"""Read side of the admin service's own data (HackSoft's selectors)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Q

from taskflow_admin.models import AuditEntry


@dataclass(frozen=True)
class AuditFilter:
    actor_id: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def audit_list(
    filters: AuditFilter, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[AuditEntry]:
    """Newest first, `limit + 1` rows (the extra one says whether there is a next page)."""
    rows = AuditEntry.objects.all()
    for field in ("actor_id", "action", "target_type", "target_id"):
        value = getattr(filters, field)
        if value:
            rows = rows.filter(**{field: value})
    if filters.since is not None:
        rows = rows.filter(occurred_at__gte=filters.since)
    if filters.until is not None:
        rows = rows.filter(occurred_at__lt=filters.until)
    if after is not None:
        at, entry_id = after
        rows = rows.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=entry_id))
    return list(rows.order_by("-occurred_at", "-id")[: limit + 1])
