"""The in-process EventBus of the embedded mode: same semantics, no broker, no durability.

Each consumer gets its own queue and worker task, so a slow consumer never blocks a
publisher or another consumer. Events that exhaust their retries are kept in
`dead_letters` (the in-process stand-in for a DLQ).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from taskflow_common.events.envelope import Envelope
from taskflow_common.messaging.bus import (
    EventHandler,
    ProcessedEvents,
    RetryPolicy,
    UnroutableEventError,
    topic_matches,
)
from taskflow_common.messaging.dispatch import deliver
from taskflow_common.messaging.tracing import publish_span
from taskflow_common.metrics import EVENTS_PUBLISHED

log = logging.getLogger(__name__)


@dataclass
class _Subscription:
    consumer: str
    patterns: tuple[str, ...]
    handler: EventHandler
    retry: RetryPolicy
    queue: asyncio.Queue[tuple[Envelope[Any], dict[str, str]]] = field(
        default_factory=asyncio.Queue
    )
    worker: asyncio.Task[None] | None = None


class InProcessEventBus:
    def __init__(
        self, *, processed: ProcessedEvents | None = None, mandatory: bool = False
    ) -> None:
        self._subscriptions: list[_Subscription] = []
        self._processed = processed
        self._mandatory = mandatory
        self.dead_letters: list[tuple[str, Envelope[Any]]] = []
        self._closed = False

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        for sub in self._subscriptions:
            if sub.worker is not None:
                sub.worker.cancel()
        await asyncio.gather(
            *(s.worker for s in self._subscriptions if s.worker), return_exceptions=True
        )
        self._subscriptions.clear()

    async def is_healthy(self) -> bool:
        return not self._closed

    async def publish(self, envelope: Envelope[Any], headers: dict[str, str] | None = None) -> None:
        carrier = dict(headers or {})
        with publish_span(envelope.event_type, "inprocess", carrier):
            targets = [
                s
                for s in self._subscriptions
                if any(topic_matches(p, envelope.routing_key) for p in s.patterns)
            ]
            if not targets and self._mandatory:
                raise UnroutableEventError(envelope.routing_key)
            for sub in targets:
                sub.queue.put_nowait((envelope, dict(carrier)))
        EVENTS_PUBLISHED.labels(envelope.event_type).inc()

    async def subscribe(
        self,
        consumer: str,
        patterns: Sequence[str],
        handler: EventHandler,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        sub = _Subscription(consumer, tuple(patterns), handler, retry or RetryPolicy())
        sub.worker = asyncio.create_task(self._work(sub), name=f"bus-consumer-{consumer}")
        self._subscriptions.append(sub)

    async def drain(self) -> None:
        """Wait until every queued event has been handled (tests, graceful shutdown)."""
        for sub in list(self._subscriptions):
            await sub.queue.join()

    async def _work(self, sub: _Subscription) -> None:
        while True:
            envelope, headers = await sub.queue.get()
            try:
                ok = await deliver(
                    consumer=sub.consumer,
                    envelope=envelope,
                    headers=headers,
                    handler=sub.handler,
                    retry=sub.retry,
                    processed=self._processed,
                    system="inprocess",
                )
                if not ok:
                    self.dead_letters.append((sub.consumer, envelope))
            except Exception:
                log.exception("in-process consumer crashed on an event")
            finally:
                sub.queue.task_done()
