"""The EventBus port and its adapters (in-process here; AMQP in `.amqp`, behind the amqp extra)."""

from taskflow_common.messaging.bus import (
    EventBus,
    EventHandler,
    InMemoryProcessedEvents,
    ProcessedEvents,
    RetryPolicy,
    UnroutableEventError,
    topic_matches,
)
from taskflow_common.messaging.inprocess import InProcessEventBus

__all__ = [
    "EventBus",
    "EventHandler",
    "InMemoryProcessedEvents",
    "InProcessEventBus",
    "ProcessedEvents",
    "RetryPolicy",
    "UnroutableEventError",
    "topic_matches",
]
