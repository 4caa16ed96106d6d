"""The audit relay: publishes committed audit entries as admin.audit.recorded.v1 (ADR 0014).

At-least-once: an entry is stamped `published_at` only after the broker confirmed it; a
relay that dies in between leaves it to be published again after its lease, with the same
event id. A commit wakes the relay at once (`audit.on_recorded`); a poll every few seconds
catches what a wake-up missed (another replica's entry, a broker that was down), with
exponential backoff while publishing fails. Each cycle claims a batch with a lease in one
statement and settles it in a second, holding no transaction while it publishes, so relays
of several replicas skip each other's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

from asgiref.sync import sync_to_async
from django.db import connections, router
from django.db.models import F
from django.utils import timezone
from prometheus_client import Counter

from taskflow_admin import audit
from taskflow_admin.models import AuditEntry
from taskflow_common.messaging import EventBus, UnroutableEventError

log = logging.getLogger(__name__)

AUDIT_PUBLISHED = Counter(
    "taskflow_admin_audit_events_total",
    "Audit entries the relay handled, by outcome (published, unroutable, failed).",
    ["outcome"],
)

# The lease on a batch, in one statement; rows another relay has locked are skipped.
CLAIM = (
    "WITH claimable AS (SELECT id FROM taskflow_admin_auditentry"
    " WHERE published_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())"
    " ORDER BY occurred_at LIMIT %s FOR UPDATE SKIP LOCKED)"
    " UPDATE taskflow_admin_auditentry e SET claimed_until = now() + %s * interval '1 second'"
    " FROM claimable WHERE e.id = claimable.id RETURNING e.id"
)
MAX_BACKOFF_SECONDS = 30.0


class AuditRelay:
    def __init__(
        self,
        bus: EventBus,
        *,
        batch_size: int = 100,
        poll_seconds: float = 5.0,
        lease_seconds: float = 30.0,
    ) -> None:
        self._bus = bus
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._lease_seconds = lease_seconds
        self._alias = router.db_for_write(AuditEntry)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Thread-safe: called from the thread whose transaction committed an entry."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run_once(self) -> int:
        """Publish one batch; the number published. Raises once the bus fails, after
        releasing what it could not publish."""
        ids = await sync_to_async(self._claim)()
        if not ids:
            return 0
        entries = await sync_to_async(self._load)(ids)
        sent: list[UUID] = []
        try:
            for entry in entries:
                try:
                    await self._bus.publish(audit.audit_event(entry))
                except UnroutableEventError:
                    # No consumer has bound a queue for audit events: the entry is stored
                    # and listed; there is nobody to tell, and waiting would not change it.
                    AUDIT_PUBLISHED.labels("unroutable").inc()
                    log.warning(
                        "no queue is bound for audit events; not published",
                        extra={"audit_id": str(entry.id)},
                    )
                else:
                    AUDIT_PUBLISHED.labels("published").inc()
                sent.append(entry.id)
        except Exception as exc:
            AUDIT_PUBLISHED.labels("failed").inc()
            failed = entries[len(sent)].id
            await sync_to_async(self._settle)(sent, ids, failed, f"{type(exc).__name__}: {exc}")
            raise
        await sync_to_async(self._settle)(sent, ids, None, "")
        return len(sent)

    async def run_forever(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        backoff = self._poll_seconds
        while not stop.is_set():
            self._wake.clear()
            try:
                await self._bus.start()
                published = await self.run_once()
            except Exception as exc:
                log.warning(
                    "audit relay could not publish; retrying",
                    extra={"error": repr(exc)[:300], "retry_in_seconds": backoff},
                )
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = self._poll_seconds
            if published < self._batch_size:
                await _wait_for_any(stop, self._wake, self._poll_seconds)

    def _claim(self) -> list[UUID]:
        with connections[self._alias].cursor() as cursor:
            cursor.execute(CLAIM, [self._batch_size, self._lease_seconds])
            return [row[0] for row in cursor.fetchall()]

    def _load(self, ids: list[UUID]) -> list[AuditEntry]:
        return list(
            AuditEntry.objects.using(self._alias).filter(id__in=ids).order_by("occurred_at")
        )

    def _settle(
        self, sent: list[UUID], claimed: list[UUID], failed: UUID | None, error: str
    ) -> None:
        entries = AuditEntry.objects.using(self._alias)
        if sent:
            entries.filter(id__in=sent, published_at__isnull=True).update(
                published_at=timezone.now(), claimed_until=None
            )
        if failed is not None:
            entries.filter(id=failed).update(
                claimed_until=None,
                publish_attempts=F("publish_attempts") + 1,
                last_publish_error=error[:2000],
            )
        rest = [i for i in claimed if i not in sent and i != failed]
        if rest:  # released, so the next cycle retries them at once, not after the lease
            entries.filter(id__in=rest).update(claimed_until=None)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _wait_for_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class RunningRelay:
    """A relay running as a task of the current event loop, woken by each committed entry."""

    def __init__(self, relay: AuditRelay) -> None:
        self.relay = relay
        self._stop = asyncio.Event()
        audit.on_recorded(relay.wake)
        self._task: asyncio.Task[None] = asyncio.create_task(relay.run_forever(self._stop))

    async def stop(self) -> None:
        audit.off_recorded(self.relay.wake)
        self._stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._task, timeout=10)
