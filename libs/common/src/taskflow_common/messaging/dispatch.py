"""What every adapter does with one delivered event: dedupe, trace, retry with backoff, measure."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry.trace import StatusCode

from taskflow_common.events.envelope import Envelope
from taskflow_common.messaging.bus import EventHandler, ProcessedEvents, RetryPolicy
from taskflow_common.messaging.tracing import consume_span
from taskflow_common.metrics import EVENT_HANDLER_DURATION, EVENT_LAG, EVENTS_CONSUMED

log = logging.getLogger(__name__)

CLAIM_POLL_SECONDS = 0.2


async def deliver(
    *,
    consumer: str,
    envelope: Envelope[Any],
    headers: Mapping[str, Any],
    handler: EventHandler,
    retry: RetryPolicy,
    processed: ProcessedEvents | None,
    system: str,
    previous_attempts: int = 0,
) -> bool:
    """Run handler until it succeeds or attempts run out. True: ack. False: dead-letter."""
    if processed is not None:
        while not await processed.claim(consumer, envelope.event_id):
            if await processed.done(consumer, envelope.event_id):
                EVENTS_CONSUMED.labels(consumer, envelope.event_type, "duplicate").inc()
                return True
            # Another delivery of this event holds the claim: wait for it to finish, give up
            # (release) or die (the claim expires), rather than ack something not yet handled.
            await asyncio.sleep(CLAIM_POLL_SECONDS)
    lag = (datetime.now(UTC) - envelope.occurred_at).total_seconds()
    EVENT_LAG.labels(consumer).observe(max(lag, 0.0))
    attempt = previous_attempts
    with consume_span(
        envelope.event_type, consumer, system, headers, str(envelope.event_id)
    ) as span:
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                await handler(envelope)
            except asyncio.CancelledError:
                if processed is not None:
                    await processed.release(consumer, envelope.event_id)
                raise
            except Exception as exc:
                span.record_exception(exc)
                log.warning(
                    "event handler failed",
                    extra={
                        "consumer": consumer,
                        "event_id": str(envelope.event_id),
                        "event_type": envelope.event_type,
                        "attempt": attempt,
                    },
                    exc_info=True,
                )
                if attempt >= retry.max_attempts:
                    if processed is not None:
                        await processed.release(consumer, envelope.event_id)
                    span.set_status(StatusCode.ERROR, "dead-lettered")
                    EVENTS_CONSUMED.labels(consumer, envelope.event_type, "dead_lettered").inc()
                    return False
                EVENTS_CONSUMED.labels(consumer, envelope.event_type, "retried").inc()
                await asyncio.sleep(retry.delay_before(attempt + 1))
                continue
            finally:
                EVENT_HANDLER_DURATION.labels(consumer).observe(time.perf_counter() - started)
            if processed is not None:
                await processed.mark(consumer, envelope.event_id)
            EVENTS_CONSUMED.labels(consumer, envelope.event_type, "ok").inc()
            return True
