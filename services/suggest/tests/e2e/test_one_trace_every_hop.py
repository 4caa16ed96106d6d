"""One trace across every hop of a task's creation, read back from the stack's Jaeger.

A user who asked for email about priority suggestions, with a WebSocket open through the
gateway, creates a task with a `traceparent` of the test's own. For the test, the suite's
suggest consumer is replaced by one that asks a model (the replay server's recorded answer;
the same queue, the same service name), so the LLM call is in the chain; the suite's own
consumer is started again afterwards. The trace must then hold, each span beneath the one
before:

    gateway SERVER → gateway CLIENT → tasks SERVER → tasks DB
                                                   → relay claim, publish, settle
    → suggest consume → LLM call (the GenAI client span) → suggest DB → publish
    → notify consume → notify DB → frame published to Redis → frame pushed on the WebSocket
                     → delivery job queued → Celery worker → SMTP send (Mailpit)

Two more requests are checked for the Django services' server spans: the preferences PUT
(notify, with its DB spans beneath) and the admin console's first page. Last,
every line the suite's processes logged is a JSON object; those with this trace's id carry a
span id of the trace.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from suggest_processes import stack_env
from suggest_queues import consumer_count

from taskflow_common.messaging.amqp import queue_name
from taskflow_common.testing import KeycloakRealm, require_component
from taskflow_common.testing.jaeger import Span, Trace, fetch_trace
from taskflow_common.testing.suite import require_suite

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[4]
SUITE_LOGS = ROOT / ".stack" / "suite"
SUITE_CONSUMER = SUITE_LOGS / "suggest-consumer.pid"
LLM_CONSUMER = "taskflow-suggest-consumer"


def _traceparent() -> tuple[str, str]:
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


def _one(trace: Trace, service: str, name: str, under: Span | None = None) -> Span:
    found = trace.find(service, name, under=under)
    where = f" beneath {under.service}: {under.name}" if under else ""
    assert found, f"no {service}: {name}{where} in\n{trace.outline()}"
    return found[0]


def _child(trace: Trace, service: str, name: str, parent: Span) -> Span:
    """A span whose direct parent is `parent` (the hop's context was carried, not lost)."""
    found = [s for s in trace.find(service, name) if s.parent_id == parent.span_id]
    assert found, f"no {service}: {name} directly beneath {parent.name} in\n{trace.outline()}"
    return found[0]


def _holds(check: Callable[[Trace], None]) -> Callable[[Trace], bool]:
    def holds(trace: Trace) -> bool:
        try:
            check(trace)
        except AssertionError:
            return False
        return True

    return holds


def _check_task_trace(trace: Trace) -> None:
    # The request: the gateway's server and client spans, the tasks service's, its DB work.
    edge = _one(trace, "taskflow-gateway", "POST /api/v1/tasks*")
    assert edge.kind == "server"
    proxied = _child(trace, "taskflow-gateway", "POST*", edge)
    assert proxied.kind == "client"
    served = _child(trace, "taskflow-tasks", "POST /api/v1/tasks*", proxied)
    assert served.kind == "server"
    assert _one(trace, "taskflow-tasks", "tasks unit of work", under=served).kind == "client"

    # The outbox relay: claim, publish and settle, each in the request's trace.
    published = _one(trace, "taskflow-tasks-relay", "publish tasks.task.created.v1", under=served)
    for statement in ("UPDATE outbox (claim)", "UPDATE outbox (settle)"):
        assert _one(trace, "taskflow-tasks-relay", statement, under=served).kind == "client"

    # The suggest consumer that asked the model: consume, LLM call, DB, publish.
    consumed = _child(trace, LLM_CONSUMER, "process tasks.task.created.v1", published)
    llm = _one(trace, LLM_CONSUMER, "chat replay-ok", under=consumed)
    assert llm.kind == "client"
    assert llm.tags.get("gen_ai.request.model") == "replay-ok"
    _one(trace, LLM_CONSUMER, "INSERT suggestions (for event)", under=consumed)
    suggested = _one(trace, LLM_CONSUMER, "publish suggest.priority.suggested.v1", under=consumed)

    # Notify: consume, its DB work, the live frame through Redis to the WebSocket.
    noticed = _child(
        trace, "taskflow-notify-consumer", "process suggest.priority.suggested.v1", suggested
    )
    db = trace.find("taskflow-notify-consumer", "*", under=noticed)
    assert any(s.tags.get("db.system") == "postgresql" for s in db), trace.outline()
    assert any(s.tags.get("db.system") == "redis" for s in db), trace.outline()
    frame = _one(trace, "taskflow-notify-consumer", "publish notify.frame", under=noticed)
    assert _child(trace, "taskflow-notify", "push notify.frame", frame).kind == "consumer"

    # ...and the email: queued for Celery, sent by the worker over SMTP.
    queued = _one(trace, "taskflow-notify-consumer", "publish notify.send_email", under=noticed)
    worked = _child(trace, "taskflow-notify-worker", "notify.send_email process", queued)
    assert _child(trace, "taskflow-notify-worker", "smtp send", worked).kind == "client"


def _served_under_the_gateway(trace: Trace, service: str, name: str) -> Span:
    """The service's SERVER span for a request, directly beneath the gateway's span."""
    served = _one(trace, service, name)
    assert served.kind == "server"
    parent = trace.parent(served)
    assert parent is not None
    assert parent.service == "taskflow-gateway"
    return served


def _check_notify_request(trace: Trace) -> None:
    """The preferences PUT: notify's server span under the gateway's, its DB spans beneath."""
    served = _served_under_the_gateway(trace, "taskflow-notify", "PUT*")
    db = trace.find("taskflow-notify", "*", under=served)
    assert any(s.tags.get("db.system") == "postgresql" for s in db), trace.outline()


def _check_admin_request(trace: Trace) -> None:
    """The admin console's Django app: a server span under the gateway's too."""
    _served_under_the_gateway(trace, "taskflow-admin", "GET*")


def _stop_suite_consumer() -> None:
    """SIGTERM to the suite's suggest consumer, then wait until the broker sees it gone."""
    assert SUITE_CONSUMER.exists(), "the suite's suggest consumer is not running: scripts/suite up"
    pid = int(SUITE_CONSUMER.read_text().split()[0])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while consumer_count(queue_name("suggest")) > 0:
        assert time.monotonic() < deadline, "the suite's suggest consumer did not stop"
        time.sleep(0.2)


def _restart_suite() -> None:
    subprocess.run([str(ROOT / "scripts" / "suite"), "up"], check=True, cwd=ROOT)


def _start_llm_consumer(replay_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **stack_env(),
        "TASKFLOW_MODE": "distributed",
        "TASKFLOW_LLM_BASE_URL": replay_url,
        "TASKFLOW_LLM_MODEL": "replay-ok",
        "TASKFLOW_LLM_CACHE_TTL_SECONDS": "0",
        "OTEL_SERVICE_NAME": LLM_CONSUMER,
    }
    for key in ("OTEL_SDK_DISABLED", "TASKFLOW_CONSUMER_NAME", "TASKFLOW_METRICS_PORT"):
        env.pop(key, None)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "taskflow_suggest", "consume"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while consumer_count(queue_name("suggest")) == 0:
        assert process.poll() is None, log.read_text()[-3000:]
        if time.monotonic() > deadline:
            pytest.fail("the LLM suggest consumer did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.5)
    return process


async def _until_frame(ws: Any, kind: str, within: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        frame = json.loads(await asyncio.wait_for(ws.recv(), left))
        if frame.get("type") == "notification" and frame.get("kind") == kind:
            return frame  # type: ignore[no-any-return]
    raise AssertionError(f"no {kind} notification within {within:.0f} s")


def _mailpit_has_mail_to(address: str, within: float = 30.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = httpx.get(
            "http://127.0.0.1:8025/api/v1/search", params={"query": f"to:{address}"}, timeout=5
        )
        if found.status_code == 200 and found.json().get("messages_count", 0) > 0:
            return True
        time.sleep(0.5)
    return False


def _log_lines_since(offsets: dict[Path, int]) -> dict[str, list[str]]:
    lines = {}
    for path, offset in offsets.items():
        with path.open("rb") as log:
            log.seek(offset)
            lines[path.stem] = log.read().decode(errors="replace").splitlines()
    return lines


async def test_creating_a_task_is_one_trace_through_every_hop(suggest_replay_server, tmp_path):
    require_component("jaeger")
    require_component("mailpit")
    gateway = require_suite()
    offsets = {path: path.stat().st_size for path in SUITE_LOGS.glob("*.log")}
    realm = KeycloakRealm()
    user = realm.create_user("trace-hops")
    token = realm.access_token(user)
    auth = {"Authorization": f"Bearer {token}"}
    _stop_suite_consumer()
    try:
        process = _start_llm_consumer(suggest_replay_server.base_url, tmp_path / "consumer.log")
    except BaseException:
        _restart_suite()
        raise
    try:
        async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
            prefs_trace, prefs_parent = _traceparent()
            asked = await client.put(
                "/api/v1/notifications/preferences",
                json={"preferences": {"priority_suggested": {"email": True}}},
                headers={**auth, "traceparent": prefs_parent},
            )
            assert asked.status_code == 200, asked.text
            admin_trace, admin_parent = _traceparent()
            console = await client.get("/admin/", headers={"traceparent": admin_parent})
            assert console.status_code == 302, console.text  # to the sign-in
            ws_url = gateway.replace("http", "ws", 1) + "/ws/notifications"
            async with websockets.connect(ws_url, subprotocols=["bearer", token]) as ws:
                trace_id, parent = _traceparent()
                created = await client.post(
                    "/api/v1/tasks",
                    json={"title": "Production outage: checkout down for customers"},
                    headers={**auth, "traceparent": parent},
                )
                assert created.status_code == 201, created.text
                assert created.headers["traceresponse"].split("-")[1] == trace_id
                await _until_frame(ws, "priority_suggested")
    finally:
        process.terminate()
        process.wait(timeout=15)
        _restart_suite()

    # Each process exports its spans in batches of its own: wait until every check holds.
    trace = await asyncio.to_thread(fetch_trace, trace_id, _holds(_check_task_trace))
    assert await asyncio.to_thread(_mailpit_has_mail_to, user.email)
    await asyncio.to_thread(fetch_trace, prefs_trace, _holds(_check_notify_request))
    await asyncio.to_thread(fetch_trace, admin_trace, _holds(_check_admin_request))

    # Logs: JSON lines everywhere; a line with this trace's id names one of its spans (the
    # gateway's access line for the request is one).
    logged = _log_lines_since(offsets)
    assert any(
        f'"trace_id": "{trace_id}"' in line and "taskflow_auth_gateway.access" in line
        for line in logged["gateway"]
    ), "the gateway's access line for the request does not carry its trace id"
    for process_name, lines in logged.items():
        for line in lines:
            if not line.strip() or line.startswith("==== "):
                continue  # scripts/suite's own line when it (re)starts a process
            entry = json.loads(line)  # raises on a line that is not JSON
            assert {"ts", "level", "service", "message"} <= entry.keys(), (process_name, line)
            if entry.get("trace_id") == trace_id:
                assert entry.get("span_id") in trace.spans, (process_name, line)
