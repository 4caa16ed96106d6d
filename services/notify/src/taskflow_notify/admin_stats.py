"""The administrators' figures: notifications sent per channel over the last days.

In-app notifications are delivered when stored (the feed is the channel); email and webhook
sends are their delivery rows, counted by outcome (pending and skipped ones are neither).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from taskflow_notify.kinds import Channel
from taskflow_notify.models import Delivery, Notification

STATS_DAYS = 30


def delivery_stats(*, now: datetime | None = None, days: int = STATS_DAYS) -> dict[str, object]:
    since = (now or timezone.now()) - timedelta(days=days)
    by_channel = {c.value: {"delivered": 0, "failed": 0} for c in Channel}
    by_channel[Channel.IN_APP.value]["delivered"] = Notification.objects.filter(
        created_at__gte=since
    ).count()
    rows = (
        Delivery.objects.filter(created_at__gte=since)
        .values("channel")
        .annotate(
            delivered=Count("id", filter=Q(status=Delivery.Status.SENT)),
            failed=Count("id", filter=Q(status=Delivery.Status.FAILED)),
        )
    )
    for row in rows:
        counts = by_channel.setdefault(row["channel"], {"delivered": 0, "failed": 0})
        counts["delivered"] += row["delivered"]
        counts["failed"] += row["failed"]
    return {"days": days, "since": since.isoformat(), "by_channel": by_channel}
