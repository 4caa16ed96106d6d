"""The EventBus port: publish envelopes, subscribe handlers; delivery is at-least-once.

A handler that returns normally has handled the event (the adapter then acks it); one that
raises is retried with backoff up to RetryPolicy.max_attempts, then dead-lettered. Handlers
must be idempotent by `event_id`; a `ProcessedEvents` store lets the adapter skip events a
consumer has already handled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from taskflow_common.events.envelope import Envelope

EventHandler = Callable[[Envelope[Any]], Awaitable[None]]


class UnroutableEventError(RuntimeError):
    """The broker accepted the event but no queue was bound for its routing key."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff, then the dead-letter queue."""

    max_attempts: int = 5
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0

    def delay_before(self, attempt: int) -> float:
        """Delay before attempt number `attempt` (2 = the first retry)."""
        return min(self.initial_delay * self.multiplier ** max(attempt - 2, 0), self.max_delay)


class ProcessedEvents(Protocol):
    """Which event ids a consumer has handled (the idempotency hook).

    `claim` must be atomic: of two concurrent deliveries of one event, exactly one gets True.
    The winner calls `mark` after its handler succeeded, or `release` when it gave up, so a
    later redelivery may try again. A claim whose holder died must expire on its own.
    """

    async def claim(self, consumer: str, event_id: UUID) -> bool: ...

    async def done(self, consumer: str, event_id: UUID) -> bool: ...

    async def mark(self, consumer: str, event_id: UUID) -> None: ...

    async def release(self, consumer: str, event_id: UUID) -> None: ...


class InMemoryProcessedEvents:
    def __init__(self) -> None:
        self._claimed: set[tuple[str, UUID]] = set()
        self._done: set[tuple[str, UUID]] = set()

    async def claim(self, consumer: str, event_id: UUID) -> bool:
        # No await between the test and the insert: atomic on one event loop.
        key = (consumer, event_id)
        if key in self._claimed:
            return False
        self._claimed.add(key)
        return True

    async def done(self, consumer: str, event_id: UUID) -> bool:
        return (consumer, event_id) in self._done

    async def mark(self, consumer: str, event_id: UUID) -> None:
        self._claimed.add((consumer, event_id))
        self._done.add((consumer, event_id))

    async def release(self, consumer: str, event_id: UUID) -> None:
        self._claimed.discard((consumer, event_id))


class EventBus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, envelope: Envelope[Any], headers: dict[str, str] | None = None) -> None:
        """Return once the event is durably accepted (broker confirm), else raise."""
        ...

    async def subscribe(
        self,
        consumer: str,
        patterns: Sequence[str],
        handler: EventHandler,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Start delivering events whose routing key matches any pattern to handler."""
        ...

    async def is_healthy(self) -> bool: ...


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: '*' is exactly one word, '#' is zero or more words."""

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        head, rest = p[0], p[1:]
        if head == "#":
            return any(match(rest, k[i:]) for i in range(len(k) + 1))
        if not k:
            return False
        return (head == "*" or head == k[0]) and match(rest, k[1:])

    return match(pattern.split("."), routing_key.split("."))
