"""The audit log: entries stored with before/after, published on the real RabbitMQ as
admin.audit.recorded.v1 (woken by the commit, retried while the broker fails), listed by
`GET /api/v1/admin/audit` to administrators only."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from asgiref.sync import sync_to_async

from taskflow_common.messaging.amqp import EXCHANGE, AmqpEventBus, BusUnavailableError
from taskflow_common.testing import KeycloakRealm, require_component
from taskflow_common.testing.stack import AMQP_URL

pytestmark = pytest.mark.integration


def _actor(name: str = "auditor") -> Any:
    from taskflow_admin.audit import Actor

    return Actor(id=f"kc-{secrets.token_hex(6)}", username=name)


@pytest.fixture
async def audit_events() -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A queue of this test's own, bound to admin.audit.recorded.v1 on the real broker."""
    require_component("rabbitmq")
    connection = await aio_pika.connect_robust(AMQP_URL)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="admin.audit.recorded.v1")
    yield queue
    await connection.close()


async def _next_event(queue: aio_pika.abc.AbstractQueue, target_id: str) -> dict[str, Any]:
    async with queue.iterator(timeout=20) as messages:
        async for message in messages:
            await message.ack()
            body: dict[str, Any] = json.loads(message.body)
            if body["data"]["target_id"] == target_id:
                return body
    raise AssertionError("no audit event arrived")


async def test_a_committed_entry_is_published_at_once_with_its_before_and_after(
    admin_django: Any, audit_events: aio_pika.abc.AbstractQueue
) -> None:
    from taskflow_admin.audit import record_action
    from taskflow_admin.audit_relay import AuditRelay, RunningRelay
    from taskflow_admin.models import AuditEntry

    bus = AmqpEventBus(AMQP_URL)
    # A poll far longer than the wait below: only the commit's wake-up can publish in time.
    running = RunningRelay(AuditRelay(bus, poll_seconds=300))
    await asyncio.sleep(0.5)  # its first (empty) cycle is behind it
    actor = _actor()
    target = f"user-{secrets.token_hex(4)}"
    try:
        entry = await sync_to_async(record_action)(
            actor,
            action="user.disable",
            target_type="user",
            target_id=target,
            before={"enabled": True},
            after={"enabled": False},
        )
        event = await _next_event(audit_events, target)
    finally:
        await running.stop()
        await bus.close()

    assert event["event_type"] == "admin.audit.recorded.v1"
    assert event["event_id"] == str(entry.id)
    assert event["subject"] == actor.id
    assert event["data"] == {
        "actor_id": actor.id,
        "action": "user.disable",
        "target_type": "user",
        "target_id": target,
        "changes": {"before": {"enabled": True}, "after": {"enabled": False}},
    }
    stored = await sync_to_async(AuditEntry.objects.get)(id=entry.id)
    assert stored.published_at is not None
    assert stored.claimed_until is None


class FailingThenRealBus:
    """The real broker behind a bus that refuses the first `failures` publishes."""

    def __init__(self, failures: int) -> None:
        self.real = AmqpEventBus(AMQP_URL)
        self.failures = failures

    async def start(self) -> None:
        await self.real.start()

    async def close(self) -> None:
        await self.real.close()

    async def publish(self, envelope: Any, headers: dict[str, str] | None = None) -> None:
        if self.failures:
            self.failures -= 1
            raise BusUnavailableError("broker did not confirm")
        await self.real.publish(envelope, headers)


async def _publish_all(relay: Any) -> Exception | None:
    """Run the relay until nothing is left; the error that stopped it, if one did."""
    try:
        while await relay.run_once():
            pass
    except Exception as exc:
        return exc
    return None


async def test_an_entry_the_broker_refused_stays_unpublished_and_goes_out_on_the_retry(
    admin_django: Any, audit_events: aio_pika.abc.AbstractQueue
) -> None:
    from taskflow_admin.audit import record_action
    from taskflow_admin.audit_relay import AuditRelay
    from taskflow_admin.models import AuditEntry

    bus = FailingThenRealBus(failures=1)
    await bus.start()
    while await AuditRelay(bus.real).run_once():  # nothing of other tests' left before ours
        pass
    relay = AuditRelay(bus)  # type: ignore[arg-type]
    target = f"task-{secrets.token_hex(4)}"
    entry = await sync_to_async(record_action)(
        _actor(), action="task.trash", target_type="task", target_id=target
    )
    try:
        failure = await _publish_all(relay)
        assert isinstance(failure, BusUnavailableError)
        refused = await sync_to_async(AuditEntry.objects.get)(id=entry.id)
        assert (refused.published_at, refused.claimed_until) == (None, None)
        assert refused.publish_attempts == 1
        assert "did not confirm" in refused.last_publish_error

        assert await _publish_all(relay) is None
        event = await _next_event(audit_events, target)
    finally:
        await bus.close()

    assert event["event_id"] == str(entry.id)
    published = await sync_to_async(AuditEntry.objects.get)(id=entry.id)
    assert published.published_at is not None


def _get(path: str, token: str | None) -> Any:
    from django.test import Client

    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client().get(path, **headers)


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    realm = KeycloakRealm()
    admin = realm.create_user("auditadmin", roles=("user", "admin"))
    plain = realm.create_user("auditplain")
    return {"admin": realm.access_token(admin), "user": realm.access_token(plain)}


def test_the_audit_api_pages_newest_first_with_filters(
    admin_django: Any, tokens: dict[str, str]
) -> None:
    from taskflow_admin.audit import record_action

    actor = _actor("pager")
    for n in range(5):
        record_action(
            actor, action="task.update", target_type="task", target_id=f"t{n}", after={"n": n}
        )
    record_action(actor, action="user.enable", target_type="user", target_id="u1")

    seen: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = _get(
            f"/api/v1/admin/audit?actor_id={actor.id}&action=task.update&limit=2{cursor}",
            tokens["admin"],
        )
        assert page.status_code == 200, page.content
        body = page.json()
        seen += body["data"]
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"

    assert [e["target_id"] for e in seen] == ["t4", "t3", "t2", "t1", "t0"]
    assert seen[0]["actor"] == {"id": actor.id, "username": "pager"}
    assert seen[0]["after"] == {"n": 4}
    assert {e["action"] for e in seen} == {"task.update"}


def test_the_audit_api_answers_problems_for_bad_input_and_non_admins(
    admin_django: Any, tokens: dict[str, str]
) -> None:
    assert _get("/api/v1/admin/audit", None).status_code == 401
    refused = _get("/api/v1/admin/audit", tokens["user"])
    assert refused.status_code == 403
    assert refused["content-type"] == "application/problem+json"
    bad_cursor = _get("/api/v1/admin/audit?cursor=not-a-cursor", tokens["admin"])
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["type"].endswith("/invalid-cursor")
    bad_limit = _get("/api/v1/admin/audit?limit=0", tokens["admin"])
    assert bad_limit.status_code == 422
    bad_since = _get("/api/v1/admin/audit?since=yesterday", tokens["admin"])
    assert bad_since.status_code == 422


async def test_an_entry_no_queue_is_bound_for_is_kept_and_not_retried(admin_django: Any) -> None:
    """Nobody consumes audit events on this broker (no queue bound): the broker returns the
    event, the entry stays listed and counts as handled, so the relay does not spin on it."""
    from taskflow_admin.audit import record_action
    from taskflow_admin.audit_relay import AuditRelay
    from taskflow_admin.models import AuditEntry

    require_component("rabbitmq")
    bus = AmqpEventBus(AMQP_URL)
    await bus.start()
    try:
        entry = await sync_to_async(record_action)(
            _actor(), action="user.enable", target_type="user", target_id="nobody-listens"
        )
        assert await _publish_all(AuditRelay(bus)) is None
    finally:
        await bus.close()
    stored = await sync_to_async(AuditEntry.objects.get)(id=entry.id)
    assert stored.published_at is not None
    assert stored.publish_attempts == 0
