"""Trace context across the bus: W3C headers injected at publish, extracted at consume."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

tracer = trace.get_tracer("taskflow.messaging")


@contextmanager
def publish_span(event_type: str, system: str, headers: dict[str, str]) -> Iterator[Span]:
    """A PRODUCER span; its context is injected into headers (traceparent/tracestate)."""
    with tracer.start_as_current_span(
        f"publish {event_type}",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": system,
            "messaging.operation.type": "publish",
            "messaging.destination.name": "taskflow.events",
            "messaging.rabbitmq.destination.routing_key": event_type,
        },
    ) as span:
        propagate.inject(headers)
        yield span


@contextmanager
def consume_span(
    event_type: str, consumer: str, system: str, headers: Mapping[str, Any], event_id: str
) -> Iterator[Span]:
    """A CONSUMER span whose parent is the publisher's span carried in the headers."""
    carrier = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in headers.items()}
    parent = propagate.extract(carrier)
    with tracer.start_as_current_span(
        f"process {event_type}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": system,
            "messaging.operation.type": "process",
            "messaging.consumer.group.name": consumer,
            "messaging.message.id": event_id,
            "messaging.rabbitmq.destination.routing_key": event_type,
        },
    ) as span:
        yield span
