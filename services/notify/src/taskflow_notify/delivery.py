"""Sending one delivery (email or webhook), at most once per (notification, channel, target).

The delivery row is locked for the duration of the send and marked sent in the same
transaction. A worker killed mid-send drops its database connection, the transaction rolls
back and the row stays pending, so the redelivered task sends it again; the SMTP server (or
receiver) never completed the first attempt. The one remaining window is a kill between the
server's acceptance and the commit (milliseconds), which would send twice: that is the
at-least-once edge, made as small as it can be without the server's help.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
import uuid
from dataclasses import dataclass
from enum import Enum

import httpx
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from taskflow_notify.frames import notification_public
from taskflow_notify.metrics import DELIVERIES, EVENT_TO_DELIVERY
from taskflow_notify.models import Delivery, Notification
from taskflow_notify.ports import (
    EmailSender,
    OutgoingEmail,
    UserContact,
    UserDirectory,
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


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    error: str = ""


def _finish(delivery: Delivery, channel: str, outcome: Outcome, error: str = "") -> Attempt:
    if outcome is Outcome.SENT:
        delivery.status = Delivery.Status.SENT
        delivery.sent_at = timezone.now()
        delivery.last_error = ""
    elif outcome is Outcome.FAILED:
        delivery.status = Delivery.Status.FAILED
        delivery.last_error = error[:2000]
    else:
        delivery.last_error = error[:2000]
    delivery.save()
    DELIVERIES.labels(channel, outcome.value).inc()
    if outcome is Outcome.SENT:
        notification = delivery.notification
        transaction.on_commit(
            lambda: EVENT_TO_DELIVERY.labels(channel).observe(
                max((timezone.now() - notification.occurred_at).total_seconds(), 0.0)
            )
        )
    return Attempt(outcome, error)


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
    *, delivery_id: uuid.UUID, users: UserDirectory, sender: EmailSender, max_attempts: int
) -> Attempt:
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification")
            .filter(id=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != Delivery.Status.PENDING:
            return Attempt(Outcome.ALREADY_DONE)
        delivery.attempts += 1
        notification = delivery.notification
        try:
            contact = users.contact_for(notification.user_id)
        except (httpx.HTTPError, OSError) as exc:
            return _retry_or_fail(delivery, "email", f"user directory: {exc!r}", max_attempts)
        if contact is None or not contact.email:
            return _finish(delivery, "email", Outcome.FAILED, "the user has no email address")
        email = email_render(notification, contact, f"<{delivery.id}@notify.taskflow>")
        try:
            sender.send(email)
        except (smtplib.SMTPException, OSError) as exc:
            return _retry_or_fail(delivery, "email", f"smtp: {exc!r}", max_attempts)
        return _finish(delivery, "email", Outcome.SENT)


def webhook_body(delivery: Delivery) -> bytes:
    notification = delivery.notification
    payload = {
        "delivery_id": str(delivery.id),
        "type": notification.kind,
        "notification": notification_public(notification),
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def delivery_send_webhook(
    *, delivery_id: uuid.UUID, sender: WebhookSender, max_attempts: int
) -> Attempt:
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification", "webhook")
            .filter(id=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != Delivery.Status.PENDING:
            return Attempt(Outcome.ALREADY_DONE)
        webhook = delivery.webhook
        if webhook is None or webhook.deleted_at is not None:
            delivery.status = Delivery.Status.SKIPPED
            delivery.save(update_fields=["status", "updated_at"])
            DELIVERIES.labels("webhook", "skipped").inc()
            return Attempt(Outcome.ALREADY_DONE)
        delivery.attempts += 1
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
        except WebhookRefusedError as exc:
            return _finish(delivery, "webhook", Outcome.FAILED, f"refused: {exc}")
        except (httpx.HTTPError, OSError) as exc:
            return _retry_or_fail(delivery, "webhook", f"transport: {exc!r}", max_attempts)
        delivery.response_status = response.status
        if 200 <= response.status < 300:
            return _finish(delivery, "webhook", Outcome.SENT)
        return _retry_or_fail(delivery, "webhook", f"HTTP {response.status}", max_attempts)


def _retry_or_fail(delivery: Delivery, channel: str, error: str, max_attempts: int) -> Attempt:
    log.warning(
        "delivery attempt failed",
        extra={
            "delivery_id": str(delivery.id),
            "channel": channel,
            "attempt": delivery.attempts,
            "error": error,
        },
    )
    if delivery.attempts >= max_attempts:
        return _finish(delivery, channel, Outcome.FAILED, error)
    return _finish(delivery, channel, Outcome.RETRY, error)
