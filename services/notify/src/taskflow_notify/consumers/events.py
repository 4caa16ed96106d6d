"""The event handler notify subscribes on the bus (AMQP, or in-process when embedded)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import close_old_connections

from taskflow_common.events.envelope import Envelope
from taskflow_common.messaging import EventHandler
from taskflow_notify import retention, services, tasks
from taskflow_notify.pushes import push_outcome

CONSUMER = "notify"
PATTERNS = ("tasks.#", "suggest.#")


def _ingest(envelope: Envelope[Any]) -> services.IngestOutcome:
    # A long-lived consumer has no request cycle: drop connections that died (DB restart).
    close_old_connections()
    outcome = services.event_ingest(envelope=envelope, enqueue=tasks.enqueue_delivery)
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
