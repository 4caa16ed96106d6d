"""The AMQP EventBus adapter (aio-pika, RabbitMQ).

Topology (all durable): one topic exchange `taskflow.events`; per consumer a quorum queue
`taskflow.<consumer>` that dead-letters (at-least-once) to `taskflow.events.dlx`, where
`taskflow.<consumer>.dlq` collects what could not be handled. Publishing waits for the
broker's confirm and is `mandatory`, so an event no queue would receive is an error, not a
silent drop. Consumers ack only after the handler returned; failures are retried in place
with backoff, then rejected to the DLQ. A robust connection re-establishes channels,
queues and consumers after a broker restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
)
from aiormq.exceptions import DeliveryError, PublishError
from pydantic import ValidationError

from taskflow_common.events.envelope import Envelope, RawEnvelope
from taskflow_common.messaging.bus import (
    EventHandler,
    ProcessedEvents,
    RetryPolicy,
    UnroutableEventError,
)
from taskflow_common.messaging.dispatch import deliver
from taskflow_common.messaging.tracing import publish_span
from taskflow_common.metrics import EVENTS_CONSUMED, EVENTS_PUBLISHED

log = logging.getLogger(__name__)

EXCHANGE = "taskflow.events"
DEAD_LETTER_EXCHANGE = "taskflow.events.dlx"
# A message redelivered this often (e.g. it crashes the consumer process every time) is
# dead-lettered by the broker itself, so a poison message cannot loop forever.
DELIVERY_LIMIT = 20


def queue_name(consumer: str) -> str:
    return f"taskflow.{consumer}"


def dead_letter_queue_name(consumer: str) -> str:
    return f"taskflow.{consumer}.dlq"


class BusUnavailableError(ConnectionError):
    """The broker could not be reached or did not confirm; the caller should retry later."""


class AmqpEventBus:
    def __init__(
        self,
        url: str,
        *,
        processed: ProcessedEvents | None = None,
        prefetch: int = 32,
        publish_timeout: float = 10.0,
        reconnect_interval: float = 1.0,
    ) -> None:
        self._url = url
        self._processed = processed
        self._prefetch = prefetch
        self._publish_timeout = publish_timeout
        self._reconnect_interval = reconnect_interval
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._consumer_channels: list[AbstractRobustChannel] = []

    async def start(self) -> None:
        if self._connection is not None:
            return
        self._connection = await aio_pika.connect_robust(
            self._url,
            reconnect_interval=self._reconnect_interval,
            client_properties={"connection_name": "taskflow"},
        )
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._publish_channel = channel
        self._exchange = await self._declare_exchanges(channel)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        self._connection = None
        self._publish_channel = None
        self._exchange = None
        self._consumer_channels.clear()

    async def is_healthy(self) -> bool:
        return (
            self._connection is not None
            and not self._connection.is_closed
            and self._publish_channel is not None
            and not self._publish_channel.is_closed
        )

    async def publish(self, envelope: Envelope[Any], headers: dict[str, str] | None = None) -> None:
        if self._exchange is None:
            raise BusUnavailableError("the AMQP bus is not started")
        carrier: dict[str, str] = dict(headers or {})
        with publish_span(envelope.event_type, "rabbitmq", carrier):
            message = aio_pika.Message(
                body=envelope.to_json(),
                content_type="application/json",
                message_id=str(envelope.event_id),
                type=envelope.event_type,
                timestamp=envelope.occurred_at,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers=dict(carrier),
            )
            try:
                await self._exchange.publish(
                    message,
                    routing_key=envelope.routing_key,
                    mandatory=True,
                    timeout=self._publish_timeout,
                )
            except PublishError as exc:
                raise UnroutableEventError(envelope.routing_key) from exc
            except (TimeoutError, DeliveryError) as exc:
                raise BusUnavailableError(f"broker did not confirm: {exc!r}") from exc
            except (ConnectionError, RuntimeError) as exc:
                raise BusUnavailableError(f"broker unreachable: {exc!r}") from exc
        EVENTS_PUBLISHED.labels(envelope.event_type).inc()

    async def subscribe(
        self,
        consumer: str,
        patterns: Sequence[str],
        handler: EventHandler,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        if self._connection is None:
            raise BusUnavailableError("the AMQP bus is not started")
        policy = retry or RetryPolicy()
        channel: AbstractRobustChannel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self._prefetch)
        exchange = await self._declare_exchanges(channel)
        dlx = await channel.get_exchange(DEAD_LETTER_EXCHANGE)
        dlq = await channel.declare_queue(
            dead_letter_queue_name(consumer),
            durable=True,
            arguments={"x-queue-type": "quorum"},
        )
        await dlq.bind(dlx, routing_key=consumer)
        queue = await channel.declare_queue(
            queue_name(consumer),
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": consumer,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
                "x-delivery-limit": DELIVERY_LIMIT,
            },
        )
        for pattern in patterns:
            await queue.bind(exchange, routing_key=pattern)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._handle(consumer, message, handler, policy)

        await queue.consume(on_message, no_ack=False)
        self._consumer_channels.append(channel)

    async def _handle(
        self,
        consumer: str,
        message: AbstractIncomingMessage,
        handler: EventHandler,
        policy: RetryPolicy,
    ) -> None:
        try:
            envelope = RawEnvelope.model_validate_json(message.body)
        except ValidationError:
            # Not an envelope at all: no retry can fix it, so it goes to the DLQ at once.
            log.error("malformed event body, dead-lettering", extra={"consumer": consumer})
            EVENTS_CONSUMED.labels(consumer, message.type or "unknown", "malformed").inc()
            await message.reject(requeue=False)
            return
        headers = dict(message.headers or {})
        previous = int(str(headers.get("x-delivery-count", 0) or 0))
        ok = await deliver(
            consumer=consumer,
            envelope=envelope,
            headers=headers,
            handler=handler,
            retry=policy,
            processed=self._processed,
            system="rabbitmq",
            previous_attempts=previous,
        )
        if ok:
            await message.ack()
        else:
            await message.reject(requeue=False)

    async def _declare_exchanges(self, channel: AbstractRobustChannel) -> AbstractRobustExchange:
        await channel.declare_exchange(
            DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True
        )
        exchange: AbstractRobustExchange = await channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        return exchange
