"""Bounded change feeds: prune by age and per-user size now and then, from the consumer."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.utils import timezone

from taskflow_notify.container import container
from taskflow_notify.feed import feed_prune
from taskflow_notify.metrics import FEED_OLDEST_AGE, FEED_PRUNED

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 600.0
_lock = threading.Lock()
_last_run = 0.0


def prune_if_due(now: float | None = None) -> int | None:
    """Prune when PRUNE_EVERY_SECONDS have passed in this process; the count, or None."""
    global _last_run
    now = time.monotonic() if now is None else now
    with _lock:
        if _last_run and now - _last_run < PRUNE_EVERY_SECONDS:
            return None
        _last_run = now
    return prune_now()


def prune_now() -> int:
    settings = container().settings
    at = timezone.now()
    result = feed_prune(
        now=at,
        retention=timedelta(days=settings.feed_retention_days),
        max_entries_per_user=settings.feed_max_entries_per_user,
    )
    FEED_PRUNED.inc(result.deleted)
    age = (at - result.oldest_created_at).total_seconds() if result.oldest_created_at else 0.0
    FEED_OLDEST_AGE.set(age)
    if result.deleted:
        log.info("change feed pruned", extra={"deleted": result.deleted})
    return result.deleted
