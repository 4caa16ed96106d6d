"""Celery tasks: thin wrappers that call the delivery functions and schedule retries.

The trace continues across the Celery hop: the enqueuer puts W3C `traceparent`/`tracestate`
in the task's headers and each run opens its span under that context.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery import shared_task
from celery.app.task import Task
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

from taskflow_notify import delivery
from taskflow_notify.container import container
from taskflow_notify.tracing import delivery_enqueue_span

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("taskflow_notify.celery_tasks")
# Unexpected failures (database or broker hiccups) are retried this often before giving up;
# the delivery row stays pending, so a later redelivery could still send it (within its
# attempts: one counted by a claim before the failure stays counted).
_MAX_UNEXPECTED_RETRIES = 20
_TRACE_HEADERS = ("traceparent", "tracestate")


def _backoff(retries: int) -> float:
    settings = container().settings
    base = settings.delivery_retry_base_seconds * (2**retries)
    # Full jitter keeps a recovering receiver from being hit by every retry at once.
    return min(settings.delivery_retry_max_seconds, base) * random.uniform(0.5, 1.0)  # noqa: S311


def _trace_carrier(request: Any) -> dict[str, str]:
    headers = getattr(request, "headers", None) or {}
    carrier = {}
    for key in _TRACE_HEADERS:
        value = headers.get(key) or getattr(request, key, None)
        if isinstance(value, str):
            carrier[key] = value
    return carrier


@contextmanager
def _task_span(task: Task, delivery_id: str) -> Iterator[Span]:
    context = propagate.extract(_trace_carrier(task.request))
    with _tracer.start_as_current_span(
        f"{task.name} process",
        context=context,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "celery",
            "taskflow.delivery_id": delivery_id,
            "celery.retries": task.request.retries or 0,
        },
    ) as span:
        yield span


@contextmanager
def _retry_unexpected(task: Task) -> Iterator[None]:
    """Anything but a clean outcome is retried with backoff (the send rolled back)."""
    try:
        yield
    except Exception as exc:
        if task.request.retries >= _MAX_UNEXPECTED_RETRIES:
            raise
        log.warning("delivery failed unexpectedly; retrying", exc_info=True)
        raise task.retry(
            exc=exc,
            countdown=_backoff(task.request.retries),
            headers=_trace_carrier(task.request),
        ) from exc


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    name="notify.send_email",
)
def send_email(self: Task, delivery_id: str) -> str:
    c = container()
    return _deliver(
        self,
        delivery_id,
        lambda: delivery.delivery_send_email(
            delivery_id=uuid.UUID(delivery_id),
            users=c.users,
            sender=c.email,
            max_attempts=c.settings.delivery_max_attempts,
            lease_seconds=c.settings.delivery_lease_seconds,
        ),
    )


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    name="notify.send_webhook",
)
def send_webhook(self: Task, delivery_id: str) -> str:
    c = container()
    return _deliver(
        self,
        delivery_id,
        lambda: delivery.delivery_send_webhook(
            delivery_id=uuid.UUID(delivery_id),
            sender=c.webhooks,
            max_attempts=c.settings.delivery_max_attempts,
            lease_seconds=c.settings.delivery_lease_seconds,
        ),
    )


def _deliver(task: Task, delivery_id: str, send: Callable[[], delivery.Attempt]) -> str:
    """One attempt of one delivery, traced; a retryable outcome re-queues it with backoff."""
    with _task_span(task, delivery_id) as span, _retry_unexpected(task):
        attempt = send()
        span.set_attribute("taskflow.outcome", attempt.outcome.value)
    if attempt.outcome is delivery.Outcome.RETRY:
        raise task.retry(
            countdown=_backoff(task.request.retries), headers=_trace_carrier(task.request)
        )
    if attempt.outcome is delivery.Outcome.BUSY and not task.request.is_eager:
        # Redelivered while the lease of the worker that took it is live (that worker died,
        # or still sends): come back when the lease ends, without counting an attempt.
        # (Eager mode, embedded, retries at once whatever the countdown: there the holder is
        # another thread of this process, which records the outcome itself.)
        raise task.retry(countdown=attempt.retry_in + 0.5, headers=_trace_carrier(task.request))
    return attempt.outcome.value


def enqueue_delivery(channel: str, delivery_id: str) -> None:
    """The DeliveryEnqueuer services.event_ingest calls after commit (trace context included)."""
    task = send_email if channel == "email" else send_webhook
    carrier: dict[str, str] = {}
    with delivery_enqueue_span(task.name, delivery_id, carrier):
        task.apply_async([delivery_id], headers=carrier)
