"""The admin API on the real stack: tokens from the real Keycloak, events on the real
RabbitMQ. A bulk set_priority by a realm administrator publishes tasks.task.updated.v1 for
each task with the administrator as the subject; a plain user's token gets a 403 problem
from every admin endpoint."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid

import aio_pika
import httpx
import pytest

from taskflow_common.messaging.amqp import EXCHANGE
from taskflow_common.testing import KeycloakRealm, require_component
from taskflow_common.testing.stack import AMQP_URL
from taskflow_tasks.bootstrap import create_app
from taskflow_tasks.config import Settings

PROBLEM = "application/problem+json"
UPDATED = "tasks.task.updated.v1"


@pytest.fixture
async def keycloak_tasks_client(tasks_pg_url):
    """The tasks app as deployed: Keycloak's JWKS, its own relay publishing to RabbitMQ."""
    require_component("rabbitmq")
    realm = KeycloakRealm()
    settings = Settings(
        env="test",
        database_url=tasks_pg_url,
        oidc_issuer=realm.issuer,
        amqp_url=AMQP_URL,
        auto_migrate=False,
        background_workers=True,
        relay_poll_seconds=0.2,
        otel_sdk_disabled=True,
        gauge_refresh_seconds=0,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tasks.test") as client:
            yield realm, client


async def _updated_events(queue_name: str, wanted: set[str], subject: str) -> dict[str, dict]:
    """tasks.task.updated.v1 envelopes for the wanted task ids, as RabbitMQ delivers them."""
    found: dict[str, dict] = {}
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name)
        deadline = asyncio.get_running_loop().time() + 30
        while set(found) != wanted:
            assert asyncio.get_running_loop().time() < deadline, f"only {set(found)} arrived"
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.2)
                continue
            envelope = json.loads(message.body)
            if envelope["event_type"] != UPDATED:
                continue
            task_id = envelope["data"]["task"]["id"]
            if envelope["subject"] == subject and task_id in wanted:
                found[task_id] = envelope
        await queue.delete(if_unused=False, if_empty=False)
    return found


async def _bind_test_queue() -> str:
    """A queue for every tasks event, bound before the test writes any: the relay publishes
    in order and holds an event no queue is bound for (its consumers may not have started),
    so a task.created.v1 without a queue would keep the updates behind it."""
    name = f"taskflow.tasks-admin-test-{secrets.token_hex(4)}"
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        # Expires unused, so a test that fails before reading it leaves nothing behind.
        queue = await channel.declare_queue(name, durable=True, arguments={"x-expires": 120_000})
        await queue.bind(exchange, routing_key="tasks.#")
    return name


async def test_bulk_set_priority_by_a_keycloak_admin_reaches_rabbitmq(keycloak_tasks_client):
    realm, client = keycloak_tasks_client
    admin_user = realm.create_user("tasks-admin", roles=("user", "admin"))
    owner_user = realm.create_user("tasks-owner")
    admin = {"Authorization": f"Bearer {realm.access_token(admin_user)}"}
    owner = {"Authorization": f"Bearer {realm.access_token(owner_user)}"}
    queue_name = await _bind_test_queue()
    ids = []
    for title in ("plan the offsite", "book the rooms"):
        created = await client.post("/api/v1/tasks", json={"title": title}, headers=owner)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])

    response = await client.post(
        "/api/v1/admin/tasks/bulk",
        json={"ids": ids, "action": "set_priority", "priority": "urgent"},
        headers=admin,
    )

    assert response.status_code == 200, response.text
    assert all(entry["ok"] for entry in response.json()["data"])
    events = await _updated_events(queue_name, set(ids), subject=admin_user.id)
    for task_id in ids:
        assert events[task_id]["event_type"] == UPDATED
        assert events[task_id]["data"]["task"]["priority"] == "urgent"
        assert events[task_id]["data"]["task"]["owner_id"] == owner_user.id
    mine = await client.get(f"/api/v1/tasks/{ids[0]}", headers=owner)
    assert mine.json()["priority"] == "urgent"


async def test_a_keycloak_user_without_the_admin_role_gets_403_everywhere(keycloak_tasks_client):
    realm, client = keycloak_tasks_client
    user = realm.create_user("tasks-not-admin")
    headers = {"Authorization": f"Bearer {realm.access_token(user)}"}
    task = await client.post("/api/v1/tasks", json={"title": "mine"}, headers=headers)
    task_id = task.json()["id"]
    for method, path, body in [
        ("GET", "/api/v1/admin/tasks", None),
        ("GET", f"/api/v1/admin/tasks/{task_id}", None),
        ("PATCH", f"/api/v1/admin/tasks/{task_id}", {"priority": "high"}),
        ("POST", "/api/v1/admin/tasks/bulk", {"ids": [task_id], "action": "complete"}),
        ("POST", "/api/v1/admin/tasks/bulk", {"ids": [str(uuid.uuid4())], "action": "trash"}),
        ("GET", "/api/v1/admin/stats", None),
    ]:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
    unchanged = await client.get(f"/api/v1/tasks/{task_id}", headers=headers)
    assert unchanged.json()["status"] == "todo"
