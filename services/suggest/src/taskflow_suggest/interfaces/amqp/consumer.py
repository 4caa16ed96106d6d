"""Subscribes the suggest consumer to task events on whichever EventBus it is given."""

from __future__ import annotations

from typing import Any

from taskflow_common.events import Envelope
from taskflow_common.messaging import EventBus, RetryPolicy
from taskflow_suggest.application import handlers
from taskflow_suggest.application.handlers import SuggestDeps

CONSUMER = "suggest"
PATTERNS = ("tasks.task.created.v1", "tasks.task.updated.v1")
# A failed handling is almost always the database or the broker being briefly away.
RETRY = RetryPolicy(max_attempts=5, initial_delay=0.5, multiplier=2.0, max_delay=10.0)


async def subscribe_task_events(bus: EventBus, deps: SuggestDeps, consumer: str = CONSUMER) -> None:
    async def handle(envelope: Envelope[Any]) -> None:
        await handlers.on_task_event(deps, envelope)

    await bus.subscribe(consumer, PATTERNS, handle, retry=RETRY)
