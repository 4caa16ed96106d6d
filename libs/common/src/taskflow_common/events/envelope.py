"""The envelope every TaskFlow event travels in (DESIGN §4).

Trace context does not travel in the envelope: W3C `traceparent`/`tracestate` go in the
transport's headers (AMQP message headers), where the propagator expects them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from taskflow_common.ids import uuid7

_EVENT_TYPE = re.compile(r"^[a-z]+\.[a-z_]+\.[a-z_]+\.v(?P<version>[1-9][0-9]*)$")


class EventData(BaseModel):
    """Base of every event's `data`. Subclasses set EVENT_TYPE ('<producer>.<entity>.<verb>.vN').

    Contracts are additive-only: consumers ignore unknown fields, so producers may add
    optional ones; anything breaking is a new vN+1 type.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)
    EVENT_TYPE: ClassVar[str]

    @classmethod
    def schema_version(cls) -> int:
        match = _EVENT_TYPE.match(cls.EVENT_TYPE)
        if match is None:
            raise ValueError(f"malformed event type {cls.EVENT_TYPE!r}")
        return int(match.group("version"))

    @classmethod
    def producer(cls) -> str:
        return cls.EVENT_TYPE.split(".", 1)[0]


D = TypeVar("D")


class Envelope(BaseModel, Generic[D]):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: UUID = Field(description="Unique per event; consumers deduplicate on it.")
    event_type: str = Field(description="'<producer>.<entity>.<verb>.vN', also the routing key.")
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str
    subject: str = Field(description="The user the event is about (usually the actor).")
    data: D

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @property
    def routing_key(self) -> str:
        return self.event_type


RawEnvelope = Envelope[dict[str, Any]]


def new_envelope(
    data: EventData,
    *,
    subject: str,
    occurred_at: datetime | None = None,
    event_id: UUID | None = None,
) -> RawEnvelope:
    """Wrap event data in a fresh envelope (UUIDv7 id, UTC timestamp)."""
    cls = type(data)
    return RawEnvelope(
        event_id=event_id or uuid7(),
        event_type=cls.EVENT_TYPE,
        schema_version=cls.schema_version(),
        occurred_at=occurred_at or datetime.now(UTC),
        producer=cls.producer(),
        subject=subject,
        data=data.model_dump(mode="json"),
    )
