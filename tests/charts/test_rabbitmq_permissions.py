"""The broker permissions the umbrella renders are enough for the services' real code, and no
more: on the stack's RabbitMQ, a throwaway vhost gets one user per service holding exactly the
rendered Permission, and tasks' relay bus, suggest's and notify's consumers and notify's Celery
worker and producer run as those users; a service reaching for another's queue is refused.
"""

from __future__ import annotations

import ast
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import httpx
import pytest
from aiormq.exceptions import ChannelAccessRefused

from taskflow_common.events import new_envelope
from taskflow_common.events.contracts.suggest import PrioritySuggestedV1
from taskflow_common.events.contracts.tasks import TaskCreatedV1, TaskSnapshotV1
from taskflow_common.events.envelope import RawEnvelope
from taskflow_common.messaging import RetryPolicy
from taskflow_common.messaging.amqp import AmqpEventBus
from taskflow_common.testing import require_component

from .test_rabbitmq_users import CELERY_QUEUE, permissions

REPO = Path(__file__).resolve().parents[2]
MANAGEMENT = "http://127.0.0.1:15672/api"
ADMIN = ("guest", "guest")  # the local stack's administrator (scripts/stack env)
FAST = RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.05)


def constant(path: str, name: str) -> Any:
    """A module-level constant read from source, without importing the module (notify's
    consumer module needs Django set up)."""
    tree = ast.parse((REPO / path).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {path}")


SUGGEST_PATTERNS = constant(
    "services/suggest/src/taskflow_suggest/interfaces/amqp/consumer.py", "PATTERNS"
)
NOTIFY_PATTERNS = constant("services/notify/src/taskflow_notify/event_consumer.py", "PATTERNS")


@dataclass(frozen=True)
class Broker:
    vhost: str
    passwords: dict[str, str]

    def user(self, service: str) -> str:
        return f"{self.vhost}-{service}"

    def url(self, service: str) -> str:
        return (
            f"amqp://{self.user(service)}:{self.passwords[service]}@127.0.0.1:55672/"
            f"{quote(self.vhost, safe='')}"
        )

    def queues(self) -> dict[str, dict[str, Any]]:
        answer = httpx.get(f"{MANAGEMENT}/queues/{quote(self.vhost, safe='')}", auth=ADMIN)
        answer.raise_for_status()
        return {q["name"]: q for q in answer.json()}


@pytest.fixture(scope="module")
def broker(production_docs: list[dict[str, Any]]) -> Iterator[Broker]:
    """A vhost of this module alone; each service's user holds the rendered Permission."""
    require_component("rabbitmq")
    require_component("rabbitmq-management")
    vhost = f"taskflow-permissions-{uuid4().hex[:8]}"
    grants = permissions(production_docs)
    broker = Broker(vhost, {service: secrets.token_urlsafe(18) for service in grants})
    api = httpx.Client(base_url=MANAGEMENT, auth=ADMIN, timeout=10)
    encoded = quote(vhost, safe="")
    api.put(f"/vhosts/{encoded}", json={}).raise_for_status()
    try:
        for service, expressions in grants.items():
            user = broker.user(service)
            api.put(
                f"/users/{user}", json={"password": broker.passwords[service], "tags": ""}
            ).raise_for_status()
            api.put(f"/permissions/{encoded}/{user}", json=expressions).raise_for_status()
        yield broker
    finally:
        api.delete(f"/vhosts/{encoded}")
        for service in grants:
            api.delete(f"/users/{broker.user(service)}")
        api.close()


def created_event() -> RawEnvelope:
    now = datetime.now(UTC)
    task = TaskSnapshotV1(
        id=str(uuid4()), owner_id="u1", title="Write", status="todo", priority="none",
        version=1, created_at=now, updated_at=now,
    )  # fmt: skip
    return new_envelope(TaskCreatedV1(task=task), subject="u1")


def suggested_event(task_id: str) -> RawEnvelope:
    data = PrioritySuggestedV1(
        suggestion_id=str(uuid4()), task_id=task_id, owner_id="u1", priority="high",
        rationale="due soon", confidence=0.9, source="heuristic",
    )  # fmt: skip
    return new_envelope(data, subject="u1")


async def until(predicate: Any, what: str, within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not seen within {within} s: {what}")
        await asyncio.sleep(0.05)


async def test_events_flow_between_the_services_users(broker: Broker) -> None:
    """tasks publishes, suggest consumes and publishes, notify consumes both: each as itself."""
    got: dict[str, list[str]] = {"suggest": [], "notify": []}

    def recorder(consumer: str) -> Any:
        async def handle(envelope: RawEnvelope) -> None:
            got[consumer].append(envelope.event_type)

        return handle

    buses = {s: AmqpEventBus(broker.url(s), reconnect_interval=0.2) for s in broker.passwords}
    try:
        for bus in buses.values():
            await bus.start()  # declares both exchanges: configure on them
        await buses["notify"].subscribe("notify", NOTIFY_PATTERNS, recorder("notify"), retry=FAST)
        await buses["suggest"].subscribe(
            "suggest", SUGGEST_PATTERNS, recorder("suggest"), retry=FAST
        )
        event = created_event()
        await buses["tasks"].publish(event)
        await until(lambda: got["suggest"] == [event.event_type], "suggest consumes tasks' event")
        await buses["suggest"].publish(suggested_event(event.data["task"]["id"]))
        both = sorted([event.event_type, PrioritySuggestedV1.EVENT_TYPE])
        await until(
            lambda: sorted(got["notify"]) == both,
            "notify consumes tasks' and suggest's events",
        )
    finally:
        for bus in buses.values():
            await bus.close()


@pytest.mark.parametrize(
    ("service", "consumer"),
    [("tasks", "suggest"), ("suggest", "notify"), ("notify", "suggest"), ("admin", "notify")],
)
async def test_a_service_cannot_take_another_services_queue(
    broker: Broker, service: str, consumer: str
) -> None:
    bus = AmqpEventBus(broker.url(service), reconnect_interval=0.2)
    await bus.start()
    try:
        with pytest.raises(ChannelAccessRefused, match="ACCESS_REFUSED"):
            await bus.subscribe(consumer, ["tasks.#"], _ignore, retry=FAST)
    finally:
        await bus.close()


async def _ignore(envelope: RawEnvelope) -> None:
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _notify_env(broker: Broker) -> dict[str, str]:
    return {
        **os.environ,
        "TASKFLOW_AMQP_URL": broker.url("notify"),
        "TASKFLOW_METRICS_PORT": str(_free_port()),
        "TASKFLOW_HOST": "127.0.0.1",
        "OTEL_SDK_DISABLED": "true",
    }


PRODUCE = """
from taskflow_notify import bootstrap
bootstrap.setup_django()
bootstrap.configure(logging_and_telemetry=False)
from taskflow_notify import celery_tasks
celery_tasks.enqueue_delivery("email", "00000000-0000-0000-0000-000000000000")
"""


def test_notifys_celery_worker_and_producer_run_as_notify(broker: Broker, tmp_path: Path) -> None:
    """The real `worker` role (deliveries queue, remote-control mailbox, heartbeats) and the
    consumer's enqueue, with notify's permissions only: the task is consumed, nothing refused."""
    log = tmp_path / "worker.log"
    env = _notify_env(broker)
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "taskflow_notify", "worker", "--concurrency=1"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
    try:
        # Starting a Django process on a busy 2-core machine takes a while; the management
        # API's consumer counts lag up to its 5 s statistics interval.
        deadline = time.monotonic() + 180
        while not _consumed_by_worker(broker):
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the worker never consumed:\n{log.read_text()}"
            time.sleep(0.2)
        produced = subprocess.run(
            [sys.executable, "-c", PRODUCE], env=env, cwd=REPO,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert produced.returncode == 0, produced.stderr
        deadline = time.monotonic() + 60
        while "notify.send_email[" not in log.read_text() or " succeeded " not in log.read_text():
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the task never ran:\n{log.read_text()}"
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    output = log.read_text()
    assert "ACCESS_REFUSED" not in output, output
    assert "access to" not in output, output


def _consumed_by_worker(broker: Broker) -> bool:
    queues = broker.queues()
    mailbox = [q for name, q in queues.items() if name.endswith(".celery.pidbox")]
    deliveries = queues.get(CELERY_QUEUE, {})
    return bool(deliveries.get("consumers")) and any(q.get("consumers") for q in mailbox)
