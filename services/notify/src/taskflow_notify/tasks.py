"""Celery tasks: thin wrappers that call the delivery functions and schedule retries."""

from __future__ import annotations

import random
import uuid

from celery import shared_task
from celery.app.task import Task

from taskflow_notify import delivery
from taskflow_notify.container import container


def _backoff(retries: int) -> float:
    settings = container().settings
    base = settings.delivery_retry_base_seconds * (2**retries)
    # Full jitter keeps a recovering receiver from being hit by every retry at once.
    return min(settings.delivery_retry_max_seconds, base) * random.uniform(0.5, 1.0)  # noqa: S311


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    name="notify.send_email",
)
def send_email(self: Task, delivery_id: str) -> str:
    c = container()
    attempt = delivery.delivery_send_email(
        delivery_id=uuid.UUID(delivery_id),
        users=c.users,
        sender=c.email,
        max_attempts=c.settings.delivery_max_attempts,
    )
    if attempt.outcome is delivery.Outcome.RETRY:
        raise self.retry(countdown=_backoff(self.request.retries))
    return attempt.outcome.value


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    name="notify.send_webhook",
)
def send_webhook(self: Task, delivery_id: str) -> str:
    c = container()
    attempt = delivery.delivery_send_webhook(
        delivery_id=uuid.UUID(delivery_id),
        sender=c.webhooks,
        max_attempts=c.settings.delivery_max_attempts,
    )
    if attempt.outcome is delivery.Outcome.RETRY:
        raise self.retry(countdown=_backoff(self.request.retries))
    return attempt.outcome.value


def enqueue_delivery(channel: str, delivery_id: str) -> None:
    """The DeliveryEnqueuer services.event_ingest calls after commit."""
    task = send_email if channel == "email" else send_webhook
    task.delay(delivery_id)
