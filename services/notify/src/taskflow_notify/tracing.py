"""Spans for notify's own hops, in the trace of the event that caused them.

- a live frame: PRODUCER when the consumer hands it to the channel layer (its context travels
  in the group message), CONSUMER when a connection sends it down its WebSocket;
- a delivery job: PRODUCER when it is queued for Celery (its context in the task's headers);
  the worker's span is in `celery_tasks`;
- an email: CLIENT around the SMTP conversation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

_tracer = trace.get_tracer("taskflow.notify")
_CONTEXT_KEYS = ("traceparent", "tracestate")


@contextmanager
def frame_publish_span(position: int | None, carrier: MutableMapping[str, Any]) -> Iterator[Span]:
    """Handing one stored frame to the channel layer; `carrier` (the group message) gets the
    span's W3C context."""
    with _tracer.start_as_current_span(
        "publish notify.frame",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "redis",
            "messaging.operation.type": "publish",
            "messaging.destination.name": "notify.frame",
            "taskflow.feed.position": position if position is not None else -1,
        },
    ) as span:
        propagate.inject(carrier)
        yield span


@contextmanager
def frame_push_span(message: Mapping[str, Any]) -> Iterator[Span]:
    """One connection sending a live frame to its client, under the publisher's span."""
    carrier = {key: message[key] for key in _CONTEXT_KEYS if isinstance(message.get(key), str)}
    with _tracer.start_as_current_span(
        "push notify.frame",
        context=propagate.extract(carrier),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "websocket",
            "messaging.operation.type": "process",
            "taskflow.feed.position": message.get("pos") or -1,
        },
    ) as span:
        yield span


@contextmanager
def delivery_enqueue_span(
    task_name: str, delivery_id: str, headers: dict[str, str]
) -> Iterator[Span]:
    """Queueing one delivery job; `headers` (the Celery task's) get the span's context."""
    with _tracer.start_as_current_span(
        f"publish {task_name}",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "celery",
            "messaging.operation.type": "publish",
            "messaging.destination.name": task_name,
            "taskflow.delivery_id": delivery_id,
        },
    ) as span:
        propagate.inject(headers)
        yield span


@contextmanager
def smtp_send_span(host: str, port: int) -> Iterator[Span]:
    with _tracer.start_as_current_span(
        "smtp send",
        kind=SpanKind.CLIENT,
        attributes={"network.protocol.name": "smtp", "server.address": host, "server.port": port},
    ) as span:
        yield span
