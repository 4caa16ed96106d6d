"""Notify's event consumer: the handler it subscribes on the bus (AMQP, or in-process when
embedded), which ingests each event and pushes its frames after commit."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import Error, connection

from taskflow_common.events.envelope import Envelope
from taskflow_common.messaging import EventBus, EventHandler, RetryPolicy
from taskflow_notify import celery_tasks, retention, services
from taskflow_notify.pushes import push_outcome

CONSUMER = "notify"
PATTERNS = ("tasks.#", "suggest.#")
# Patient retries: a database restart must not send events to the dead-letter queue.
RETRY = RetryPolicy(max_attempts=12, initial_delay=0.5, max_delay=30.0)


def _ingest(envelope: Envelope[Any]) -> services.IngestOutcome:
    # A long-lived consumer has no request cycle. Django's per-request health check (a
    # `SELECT 1` before each event, about a fifth of the ingest's time in a profile at 50
    # events/s) is replaced by dropping the connection when an event fails on it: the bus
    # retries that event on a new one (a database restart).
    try:
        outcome = services.event_ingest(envelope=envelope, enqueue=celery_tasks.enqueue_delivery)
    except Error:
        connection.close()
        raise
    retention.prune_if_due()
    return outcome


def make_event_handler() -> EventHandler:
    async def handle(envelope: Envelope[Any]) -> None:
        outcome = await sync_to_async(_ingest)(envelope)
        layer = get_channel_layer()
        if layer is not None:
            # Raises when the layer is unreachable: the bus retries the event (idempotent).
            await push_outcome(layer, outcome)

    return handle


async def subscribe(bus: EventBus) -> None:
    """Notify's one subscription, in both modes: its consumer name, patterns and retries."""
    await bus.subscribe(CONSUMER, PATTERNS, make_event_handler(), retry=RETRY)
