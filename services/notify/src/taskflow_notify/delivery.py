"""Sending one delivery (email or webhook): claim, send outside any transaction, record.

No row lock is held across the network. A worker claims the delivery in a short transaction:
the attempt is counted and a lease (`claimed_until`) set, then committed. It sends with no
transaction open, and records the outcome in another short transaction fenced on its attempt
number, so a worker whose lease ran out (and whose delivery was claimed again) records nothing.
A worker killed mid-send (SIGKILL; the task is redelivered under acks_late and
reject_on_worker_lost) leaves its attempt counted: the redelivered task waits for the lease to
end, then claims the next attempt, and once `max_attempts` are used up the delivery fails with
`attempts_exhausted`, so no delivery loops. A worker killed after the server accepted but
before recording sends twice once its lease ends: at-least-once, with a stable Message-ID and
`X-TaskFlow-Delivery` for the receiver to de-duplicate on (docs/adr/0305).
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

import httpx
from django.db import DatabaseError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from taskflow_notify.frames import notification_public
from taskflow_notify.metrics import DELIVERIES, EVENT_TO_DELIVERY
from taskflow_notify.models import Delivery, Notification, Webhook
from taskflow_notify.ports import (
    EmailSender,
    OutgoingEmail,
    UserContact,
    UserDirectory,
    WebhookDeliveryError,
    WebhookRefusedError,
    WebhookSender,
)
from taskflow_notify.signing import webhook_sign

log = logging.getLogger(__name__)


class Outcome(Enum):
    SENT = "sent"
    ALREADY_DONE = "already_done"
    RETRY = "retry"
    FAILED = "failed"
    # Another worker's lease is live (or was, when it died): try again once it has ended.
    BUSY = "busy"


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    error: str = ""
    # For BUSY: seconds until the other worker's lease ends.
    retry_in: float = 0.0


@dataclass(frozen=True)
class Claim:
    """A delivery this worker holds for one attempt (committed before anything is sent)."""

    delivery: Delivery
    attempt: int
    max_attempts: int
    lease_until: float  # time.monotonic() when the lease ends, as this worker sees it


ATTEMPTS_EXHAUSTED = "attempts_exhausted"


def delivery_claim(
    *, delivery_id: uuid.UUID, max_attempts: int, lease_seconds: float
) -> Claim | Attempt:
    """Count the next attempt and lease the delivery to this worker, in one short transaction."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification", "webhook")
            .filter(id=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != Delivery.Status.PENDING:
            return Attempt(Outcome.ALREADY_DONE)
        if delivery.channel == "webhook" and not _webhook_live(delivery.webhook):
            delivery.status = Delivery.Status.SKIPPED
            delivery.claimed_until = None
            delivery.save(update_fields=["status", "claimed_until", "updated_at"])
            DELIVERIES.labels("webhook", "skipped").inc()
            return Attempt(Outcome.ALREADY_DONE)
        if delivery.claimed_until is not None and delivery.claimed_until > now:
            return Attempt(Outcome.BUSY, retry_in=(delivery.claimed_until - now).total_seconds())
        if delivery.attempts >= max_attempts:
            # Its last attempt never recorded an outcome (the worker died): give up on it.
            delivery.status = Delivery.Status.FAILED
            delivery.last_error = ATTEMPTS_EXHAUSTED
            delivery.claimed_until = None
            delivery.save(update_fields=["status", "last_error", "claimed_until", "updated_at"])
            DELIVERIES.labels(delivery.channel, Outcome.FAILED.value).inc()
            return Attempt(Outcome.FAILED, ATTEMPTS_EXHAUSTED)
        delivery.attempts += 1
        delivery.claimed_until = now + timedelta(seconds=lease_seconds)
        delivery.save(update_fields=["attempts", "claimed_until", "updated_at"])
    return Claim(delivery, delivery.attempts, max_attempts, time.monotonic() + lease_seconds)


def _webhook_live(webhook: Webhook | None) -> bool:
    return webhook is not None and webhook.deleted_at is None


def delivery_record(
    claim: Claim,
    outcome: Outcome,
    error: str = "",
    *,
    response_status: int | None = None,
) -> Attempt:
    """Write the attempt's outcome, only if this worker's attempt is still the delivery's last."""
    delivery = claim.delivery
    channel = delivery.channel
    if outcome is Outcome.RETRY:
        log.warning(
            "delivery attempt failed",
            extra={
                "delivery_id": str(delivery.id),
                "channel": channel,
                "attempt": claim.attempt,
                "error": error,
            },
        )
        if claim.attempt >= claim.max_attempts:
            outcome = Outcome.FAILED
    now = timezone.now()
    fields: dict[str, object] = {"claimed_until": None, "updated_at": now}
    if outcome is Outcome.SENT:
        fields.update(status=Delivery.Status.SENT, sent_at=now, last_error="")
    elif outcome is Outcome.FAILED:
        fields.update(status=Delivery.Status.FAILED, last_error=error[:2000])
    else:
        fields["last_error"] = error[:2000]
    if response_status is not None:
        fields["response_status"] = response_status
    recorded = _record_within_lease(claim, fields)
    if not recorded:
        # The lease ran out and another worker took the delivery over: its outcome counts.
        log.warning(
            "delivery outcome discarded: the attempt's lease was lost",
            extra={"delivery_id": str(delivery.id), "channel": channel, "attempt": claim.attempt},
        )
        return Attempt(Outcome.ALREADY_DONE)
    DELIVERIES.labels(channel, outcome.value).inc()
    if outcome is Outcome.SENT:
        EVENT_TO_DELIVERY.labels(channel).observe(
            max((now - delivery.notification.occurred_at).total_seconds(), 0.0)
        )
    return Attempt(outcome, error)


# The database unreachable when an outcome is written (a restart) must not turn a sent message
# into a second send: the outcome is kept and written again while the lease still protects it.
_RECORD_RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0)
_LEASE_MARGIN_SECONDS = 1.0


def _record_within_lease(claim: Claim, fields: dict[str, object]) -> int:
    attempt = 0
    while True:
        try:
            with transaction.atomic():
                return Delivery.objects.filter(
                    id=claim.delivery.id, attempts=claim.attempt, status=Delivery.Status.PENDING
                ).update(**fields)
        except DatabaseError:
            pause = _RECORD_RETRY_SECONDS[min(attempt, len(_RECORD_RETRY_SECONDS) - 1)]
            if time.monotonic() + pause > claim.lease_until - _LEASE_MARGIN_SECONDS:
                raise  # the lease is ending: another attempt may start, ours cannot count
            log.warning(
                "could not record a delivery outcome; retrying",
                extra={"delivery_id": str(claim.delivery.id), "attempt": claim.attempt},
                exc_info=True,
            )
            connection.close()  # a broken connection is replaced on the next query
            time.sleep(pause)
            attempt += 1


def email_render(
    notification: Notification, contact: UserContact, message_id: str
) -> OutgoingEmail:
    context = {"notification": notification, "data": notification.data, "contact": contact}
    text = render_to_string(f"notify/email/{notification.kind}.txt", context)
    html = render_to_string(f"notify/email/{notification.kind}.html", context)
    assert contact.email is not None
    return OutgoingEmail(
        to=contact.email,
        subject=f"[TaskFlow] {notification.title}",
        text=text,
        html=html,
        message_id=message_id,
        headers={"X-TaskFlow-Notification": str(notification.id)},
    )


def delivery_send_email(
    *,
    delivery_id: uuid.UUID,
    users: UserDirectory,
    sender: EmailSender,
    max_attempts: int,
    lease_seconds: float,
) -> Attempt:
    claim = delivery_claim(
        delivery_id=delivery_id, max_attempts=max_attempts, lease_seconds=lease_seconds
    )
    if isinstance(claim, Attempt):
        return claim
    notification = claim.delivery.notification
    try:
        contact = users.contact_for(notification.user_id)
    except (httpx.HTTPError, OSError) as exc:
        return delivery_record(claim, Outcome.RETRY, f"user directory: {exc!r}")
    if contact is None or not contact.email:
        return delivery_record(claim, Outcome.FAILED, "the user has no email address")
    email = email_render(notification, contact, f"<{claim.delivery.id}@notify.taskflow>")
    try:
        sender.send(email)
    except (smtplib.SMTPException, OSError) as exc:
        return delivery_record(claim, Outcome.RETRY, f"smtp: {exc!r}")
    return delivery_record(claim, Outcome.SENT)


def webhook_body(delivery: Delivery) -> bytes:
    notification = delivery.notification
    payload = {
        "delivery_id": str(delivery.id),
        "type": notification.kind,
        "notification": notification_public(notification),
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def delivery_send_webhook(
    *, delivery_id: uuid.UUID, sender: WebhookSender, max_attempts: int, lease_seconds: float
) -> Attempt:
    claim = delivery_claim(
        delivery_id=delivery_id, max_attempts=max_attempts, lease_seconds=lease_seconds
    )
    if isinstance(claim, Attempt):
        return claim
    delivery = claim.delivery
    webhook = delivery.webhook
    assert webhook is not None  # the claim skipped deliveries of deleted webhooks
    body = webhook_body(delivery)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "TaskFlow-Webhooks/1",
        "X-TaskFlow-Delivery": str(delivery.id),
        "X-TaskFlow-Timestamp": timestamp,
        "X-TaskFlow-Signature": webhook_sign(webhook.secret, timestamp, body),
        "X-TaskFlow-Event": delivery.notification.kind,
    }
    try:
        response = sender.post(webhook.url, body, headers)
    except WebhookRefusedError:
        return delivery_record(claim, Outcome.FAILED, "blocked_target")
    except WebhookDeliveryError as exc:
        return delivery_record(claim, Outcome.RETRY, exc.reason)
    if 200 <= response.status < 300:
        return delivery_record(claim, Outcome.SENT, response_status=response.status)
    return delivery_record(
        claim, Outcome.RETRY, http_reason(response.status), response_status=response.status
    )


def http_reason(status: int) -> str:
    """The owner-facing code for a non-2xx answer (the exact status is kept beside it)."""
    return f"http_{status // 100}xx"
