"""The AMQP consumer, the Celery worker and Mailpit, all real: one event, one email."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import aio_pika
from prometheus_client import REGISTRY

from taskflow_common.messaging.amqp import AmqpEventBus, dead_letter_queue_name, queue_name
from taskflow_common.testing import KeycloakRealm
from taskflow_common.testing.stack import AMQP_URL
from taskflow_notify.event_consumer import PATTERNS, make_event_handler
from taskflow_notify.models import Delivery, Notification


async def _publish_to_queue_twice(consumer: str, body: bytes) -> None:
    """Straight into this test's queue: a running suite's notify consumer must not see it."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for _ in range(2):  # at-least-once: the broker may well deliver an event again
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body,
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=queue_name(consumer),
            )


async def _delete_queues(consumer: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for name in (queue_name(consumer), dead_letter_queue_name(consumer)):
            await channel.queue_delete(name)


async def test_the_same_event_twice_gives_one_notification_and_one_email(
    notify_django: Any, notify_worker: None, notify_mailpit: Any, nh: Any
) -> None:
    user = await asyncio.to_thread(lambda: KeycloakRealm().create_user("notified"))
    consumer = f"notify-test-{secrets.token_hex(4)}"
    bus = AmqpEventBus(AMQP_URL)
    await bus.start()
    try:
        await bus.subscribe(consumer, PATTERNS, make_event_handler())
        title = f"Quarterly report {secrets.token_hex(3)}"
        event = nh.task_assigned(nh.new_user_id(), user.id, title=title)
        await _publish_to_queue_twice(consumer, event.to_json())

        def email_sent() -> bool:
            return Delivery.objects.filter(
                notification__event_id=event.event_id, channel="email", status="sent"
            ).exists()

        assert await nh.await_for(email_sent, 20), "the email was not sent"
        found = await nh.await_for(lambda: notify_mailpit.messages_to(user.email), 10)
        await asyncio.sleep(1.0)  # room for a duplicate to show up, if there were one
        found = await asyncio.to_thread(notify_mailpit.messages_to, user.email)
        notifications = await asyncio.to_thread(
            lambda: Notification.objects.filter(event_id=event.event_id).count()
        )
    finally:
        await bus.close()
        await _delete_queues(consumer)

    assert notifications == 1
    assert (
        REGISTRY.get_sample_value(
            "taskflow_notify_event_to_delivery_seconds_count", {"channel": "email"}
        )
        >= 1
    )
    assert len(found) == 1
    email = await asyncio.to_thread(notify_mailpit.message, found[0]["ID"])
    assert [to["Address"] for to in email["To"]] == [user.email]
    assert email["Subject"] == f'[TaskFlow] "{title}" was assigned to you'
    assert title in email["Text"]
    assert title in email["HTML"]
    assert "<html>" in email["HTML"]
