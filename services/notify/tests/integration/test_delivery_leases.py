"""Deliveries are claimed (attempt counted, lease set, committed) before the send, which holds
no row lock; a lease that a dead worker left blocks others until it ends; attempts are bounded."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.test import override_settings

from taskflow_common.testing import KeycloakRealm
from taskflow_notify import celery_tasks, delivery, services
from taskflow_notify.models import Delivery, Webhook


def _webhook_delivery(container: Any, nh: Any, url: str, enqueue: Any) -> tuple[Webhook, Delivery]:
    user = nh.new_user_id()
    webhook = services.webhook_create(
        user_id=user,
        url=url,
        events=["*"],
        secret="s" * 32,
        sender=container.webhooks,
        max_per_user=20,
    )
    services.event_ingest(envelope=nh.task_assigned(nh.new_user_id(), user), enqueue=enqueue)
    return webhook, Delivery.objects.get(webhook=webhook)


def _lock_now(database_url: str, schema: str, row: Delivery) -> tuple[int, str]:
    """Lock the delivery row from a second connection, failing at once if someone holds it."""
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            f'SELECT attempts, status FROM "{schema}"."{Delivery._meta.db_table}" '
            "WHERE id = %s FOR UPDATE NOWAIT",
            [row.id],
        ).fetchone()
    assert found is not None
    return found[0], found[1]


def test_no_row_lock_is_held_while_a_webhook_is_being_sent(
    notify_django: Any,
    notify_worker: None,
    notify_database_url: str,
    receiver: Any,
    rx: Any,
    nh: Any,
) -> None:
    # given the worker mid-send to a receiver that drips its answer
    slow = receiver(rx.drip)
    webhook, row = _webhook_delivery(notify_django, nh, slow.url(), celery_tasks.enqueue_delivery)
    try:
        assert slow.received.wait(30), "the worker never sent the delivery"
        # then a second connection can lock the row, and the attempt is already counted
        assert _lock_now(notify_database_url, notify_django.settings.db_schema, row) == (
            1,
            "pending",
        )
    finally:
        services.webhook_delete(user_id=webhook.user_id, webhook_id=webhook.id)


@pytest.fixture
def silent_smtp() -> Iterator[tuple[int, threading.Event]]:
    """An SMTP port that accepts connections and never greets: a send that is mid-flight."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            accepted.set()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()
    for conn in held:
        conn.close()


def test_no_row_lock_is_held_while_an_email_is_being_sent(
    notify_django: Any,
    notify_worker: None,
    notify_database_url: str,
    silent_smtp: tuple[int, threading.Event],
    nh: Any,
) -> None:
    port, accepted = silent_smtp
    user = KeycloakRealm().create_user("leased")
    with override_settings(EMAIL_PORT=port, EMAIL_TIMEOUT=5):
        event = nh.task_assigned(nh.new_user_id(), user.id)
        services.event_ingest(envelope=event, enqueue=celery_tasks.enqueue_delivery)
        row = Delivery.objects.get(notification__event_id=event.event_id, channel="email")
        assert accepted.wait(30), "the worker never connected to the SMTP server"
        assert _lock_now(notify_database_url, notify_django.settings.db_schema, row) == (
            1,
            "pending",
        )
        # Let the attempt end (timeout) before the real SMTP port is back in the settings.
        assert nh.wait_for(lambda: Delivery.objects.get(pk=row.pk).claimed_until is None, 30)


def test_a_delivery_whose_workers_died_after_claiming_fails_at_the_maximum(
    notify_django: Any, receiver: Any, rx: Any, nh: Any
) -> None:
    ok = receiver(rx.status(200))
    _webhook, row = _webhook_delivery(notify_django, nh, ok.url(), lambda channel, d: None)
    # given three attempts claimed by workers that died before recording anything
    for _ in range(3):
        claim = delivery.delivery_claim(delivery_id=row.id, max_attempts=3, lease_seconds=0.01)
        assert isinstance(claim, delivery.Claim)
        time.sleep(0.02)  # its lease ends
    # when the task runs again, then it gives up without sending
    attempt = delivery.delivery_send_webhook(
        delivery_id=row.id, sender=notify_django.webhooks, max_attempts=3, lease_seconds=60
    )
    assert (attempt.outcome, attempt.error) == (delivery.Outcome.FAILED, "attempts_exhausted")
    assert ok.requests == []
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "attempts_exhausted")


def test_a_live_lease_keeps_other_workers_off_until_it_ends(
    notify_django: Any, receiver: Any, rx: Any, nh: Any
) -> None:
    ok = receiver(rx.status(200))
    _webhook, row = _webhook_delivery(notify_django, nh, ok.url(), lambda channel, d: None)
    first = delivery.delivery_claim(delivery_id=row.id, max_attempts=5, lease_seconds=60)
    assert isinstance(first, delivery.Claim)
    # A redelivered task while the first worker still holds the delivery: nothing is sent.
    attempt = delivery.delivery_send_webhook(
        delivery_id=row.id, sender=notify_django.webhooks, max_attempts=5, lease_seconds=60
    )
    assert attempt.outcome is delivery.Outcome.BUSY
    assert 55 < attempt.retry_in <= 60
    assert ok.requests == []
    row.refresh_from_db()
    assert row.attempts == 1


def test_an_outcome_is_recorded_only_by_the_attempt_that_holds_the_delivery(
    notify_django: Any, receiver: Any, rx: Any, nh: Any
) -> None:
    failing = receiver(rx.status(503))
    _webhook, row = _webhook_delivery(notify_django, nh, failing.url(), lambda channel, d: None)
    # given a first attempt whose lease ran out, and a second worker that took over and sent
    stale = delivery.delivery_claim(delivery_id=row.id, max_attempts=5, lease_seconds=0.01)
    assert isinstance(stale, delivery.Claim)
    time.sleep(0.02)
    taken_over = delivery.delivery_send_webhook(
        delivery_id=row.id, sender=notify_django.webhooks, max_attempts=5, lease_seconds=60
    )
    assert (taken_over.outcome, taken_over.error) == (delivery.Outcome.RETRY, "http_5xx")
    # when the first worker finally records its outcome, then it is discarded
    late = delivery.delivery_record(stale, delivery.Outcome.SENT, response_status=200)
    assert late.outcome is delivery.Outcome.ALREADY_DONE
    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_status) == ("pending", 2, 503)


def test_an_outcome_the_database_could_not_take_at_once_is_recorded_not_sent_again(
    notify_django: Any, notify_database_url: str, receiver: Any, rx: Any, nh: Any
) -> None:
    from django.db import connection

    ok = receiver(rx.status(200))
    _webhook, row = _webhook_delivery(notify_django, nh, ok.url(), lambda channel, d: None)
    claim = delivery.delivery_claim(delivery_id=row.id, max_attempts=5, lease_seconds=60)
    assert isinstance(claim, delivery.Claim)
    # given the message was accepted, and then the server dropped this worker's connection
    # (what a Postgres restart does to it)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    with psycopg.connect(notify_database_url) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])
    # when the worker records its outcome, then it is written on a new connection, once
    recorded = delivery.delivery_record(claim, delivery.Outcome.SENT, response_status=200)
    assert recorded.outcome is delivery.Outcome.SENT
    row.refresh_from_db()
    assert (row.status, row.attempts, row.claimed_until) == ("sent", 1, None)
