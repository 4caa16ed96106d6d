"""Integration event contracts: the envelope, the data models and the registry."""

from taskflow_common.events.envelope import Envelope, EventData, new_envelope
from taskflow_common.events.registry import (
    EVENT_TYPES,
    UnknownEventTypeError,
    data_model_for,
    parse_data,
)

__all__ = [
    "EVENT_TYPES",
    "Envelope",
    "EventData",
    "UnknownEventTypeError",
    "data_model_for",
    "new_envelope",
    "parse_data",
]
