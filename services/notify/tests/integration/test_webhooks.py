"""Webhooks through the real Celery worker: signed, retried with backoff, delivered once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import REGISTRY

from taskflow_common.problems import ProblemError
from taskflow_notify import celery_tasks, delivery, services
from taskflow_notify.adapters.webhooks import HttpWebhookSender
from taskflow_notify.models import Delivery
from taskflow_notify.signing import webhook_sign


class Receiver:
    """A loopback webhook receiver that fails its first `failures` requests with a 500."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[int, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.requests) < receiver.failures else 200
                receiver.requests.append((status, dict(self.headers), body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/taskflow"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def successes(self) -> list[tuple[int, dict[str, str], bytes]]:
        return [r for r in self.requests if r[0] == 200]


@pytest.fixture
def flaky_receiver() -> Iterator[Receiver]:
    receiver = Receiver(failures=2)
    yield receiver
    receiver.server.shutdown()


def test_a_receiver_failing_twice_gets_the_delivery_exactly_once_and_signed(
    notify_django: Any, notify_worker: None, flaky_receiver: Receiver, nh: Any
) -> None:
    user = nh.new_user_id()
    secret = "whsec-" + "x" * 26
    webhook = services.webhook_create(
        user_id=user,
        url=flaky_receiver.url,
        events=["task_assigned"],
        secret=secret,
        sender=notify_django.webhooks,
        max_per_user=20,
    )
    event = nh.task_assigned(nh.new_user_id(), user, title="Ship it")
    services.event_ingest(envelope=event, enqueue=celery_tasks.enqueue_delivery)

    def delivered() -> Delivery | None:
        return Delivery.objects.filter(webhook=webhook, status="sent").first()

    row = nh.wait_for(delivered, 30)
    assert row is not None, f"not delivered; receiver saw {len(flaky_receiver.requests)}"
    time.sleep(1.0)  # a duplicate would arrive now
    assert [r[0] for r in flaky_receiver.requests] == [500, 500, 200]
    assert len(flaky_receiver.successes) == 1
    assert row.attempts == 3
    assert row.response_status == 200

    _status, headers, body = flaky_receiver.successes[0]
    timestamp = headers["X-TaskFlow-Timestamp"]
    assert headers["X-TaskFlow-Signature"] == webhook_sign(secret, timestamp, body)
    assert headers["X-TaskFlow-Delivery"] == str(row.id)
    assert abs(int(timestamp) - time.time()) < 60
    payload = json.loads(body)
    assert payload["type"] == "task_assigned"
    assert payload["notification"]["event_id"] == str(event.event_id)
    # Counted by channel and outcome, and timed from the event to the receiver's 2xx.
    assert (
        REGISTRY.get_sample_value(
            "taskflow_notify_deliveries_total", {"channel": "webhook", "outcome": "retry"}
        )
        >= 2
    )
    assert (
        REGISTRY.get_sample_value(
            "taskflow_notify_deliveries_total", {"channel": "webhook", "outcome": "sent"}
        )
        >= 1
    )
    assert (
        REGISTRY.get_sample_value(
            "taskflow_notify_event_to_delivery_seconds_count", {"channel": "webhook"}
        )
        >= 1
    )
    # Every attempt carries the same delivery id, so a receiver can de-duplicate too.
    assert {r[1]["X-TaskFlow-Delivery"] for r in flaky_receiver.requests} == {str(row.id)}


def test_private_targets_are_refused_when_not_allowed(
    notify_django: Any, flaky_receiver: Receiver, nh: Any
) -> None:
    strict = HttpWebhookSender(allow_private=False)
    with pytest.raises(ProblemError) as refused:
        services.webhook_create(
            user_id=nh.new_user_id(),
            url=flaky_receiver.url,
            events=["*"],
            secret="s" * 32,
            sender=strict,
            max_per_user=20,
        )
    assert refused.value.problem.status == 422

    # A hook registered while allowed (or whose name now resolves privately) is refused at
    # send time, without a request.
    user = nh.new_user_id()
    webhook = services.webhook_create(
        user_id=user,
        url=flaky_receiver.url,
        events=["*"],
        secret="s" * 32,
        sender=notify_django.webhooks,
        max_per_user=20,
    )
    services.event_ingest(
        envelope=nh.task_assigned(nh.new_user_id(), user), enqueue=lambda channel, delivery_id: None
    )
    row = Delivery.objects.get(webhook=webhook)
    attempt = delivery.delivery_send_webhook(
        delivery_id=row.id, sender=strict, max_attempts=5, lease_seconds=60
    )
    assert attempt.outcome is delivery.Outcome.FAILED
    assert flaky_receiver.requests == []
    row.refresh_from_db()
    assert row.status == "failed"
    assert row.last_error == "blocked_target"  # the reason, not the resolver's details


def test_the_trace_continues_across_the_celery_hop(
    notify_django: Any, notify_worker: None, nh: Any
) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # the session runs with OTel disabled
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    receiver = Receiver(failures=1)
    try:
        user = nh.new_user_id()
        webhook = services.webhook_create(
            user_id=user,
            url=receiver.url,
            events=["*"],
            secret="s" * 32,
            sender=notify_django.webhooks,
            max_per_user=20,
        )
        with trace.get_tracer("test").start_as_current_span("event consumed") as parent:
            services.event_ingest(
                envelope=nh.task_assigned(nh.new_user_id(), user),
                enqueue=celery_tasks.enqueue_delivery,
            )
        trace_id = parent.get_span_context().trace_id
        assert nh.wait_for(
            lambda: Delivery.objects.filter(webhook=webhook, status="sent").exists(), 30
        )
        runs = nh.wait_for(
            lambda: [
                s for s in exporter.get_finished_spans() if s.name == "notify.send_webhook process"
            ],
            5,
        )
    finally:
        receiver.server.shutdown()
    # The first attempt failed (retry) and the second succeeded: both in the caller's trace.
    assert len(runs) >= 2
    assert {s.context.trace_id for s in runs} == {trace_id}
    assert {s.attributes["taskflow.outcome"] for s in runs} >= {"retry", "sent"}
