"""One user action gives one trace across every hop, the broker hop included (DESIGN §5).

Drives the distributed suite only through the gateway, then reads the trace back from the
stack's Jaeger: the HTTP hop (gateway → tasks), the outbox relay's publish and the consumers
of the tasks and suggest services all carry the trace id the client started.
"""

import secrets
import time

import httpx

from taskflow_common.testing import require_component
from taskflow_common.testing.suite import require_suite

JAEGER = "http://127.0.0.1:16686"


def new_user(client: httpx.Client) -> str:
    name = f"trace-{secrets.token_hex(4)}"
    password = f"Pw-{secrets.token_urlsafe(12)}"
    registered = client.post(
        "/auth/register",
        json={"username": name, "email": f"{name}@example.test", "password": password},
    )
    assert registered.status_code == 201, registered.text
    login = client.post("/auth/login", json={"username": name, "password": password})
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


def fetch_trace(trace_id: str, wanted: set[str], within: float = 30.0) -> dict:
    deadline = time.monotonic() + within
    last: dict = {}
    while time.monotonic() < deadline:
        response = httpx.get(f"{JAEGER}/api/traces/{trace_id}", timeout=5)
        if response.status_code == 200 and response.json().get("data"):
            last = response.json()["data"][0]
            services = {p["serviceName"] for p in last["processes"].values()}
            if wanted <= services:
                return last
        time.sleep(0.5)
    seen = sorted({p["serviceName"] for p in last.get("processes", {}).values()})
    raise AssertionError(f"trace {trace_id} reached only {seen}, expected {sorted(wanted)}")


def test_creating_a_task_is_one_trace_through_gateway_tasks_broker_and_consumers():
    require_component("jaeger")
    base_url = require_suite()
    trace_id = secrets.token_hex(16)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        token = new_user(client)

        created = client.post(
            "/api/v1/tasks",
            json={"title": "Customers see errors: the checkout is down"},
            headers={
                "Authorization": f"Bearer {token}",
                "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
            },
        )
    assert created.status_code == 201, created.text

    trace = fetch_trace(
        trace_id,
        {
            "taskflow-gateway",
            "taskflow-tasks",
            "taskflow-tasks-relay",
            "taskflow-suggest-consumer",
            "taskflow-notify-consumer",
        },
    )

    spans = {s["spanID"]: s for s in trace["spans"]}
    service_of = {
        s["spanID"]: trace["processes"][s["processID"]]["serviceName"] for s in spans.values()
    }
    consumed = [
        s
        for s in spans.values()
        if s["operationName"] == "process tasks.task.created.v1"
        and service_of[s["spanID"]] == "taskflow-notify-consumer"
    ]
    assert consumed, "notify never consumed the created event within this trace"
    parents = [ref["spanID"] for ref in consumed[0]["references"] if ref["refType"] == "CHILD_OF"]
    assert parents, "the consumer span has no parent"
    assert spans[parents[0]]["operationName"] == "publish tasks.task.created.v1"
    assert service_of[parents[0]] == "taskflow-tasks-relay"


def test_the_response_names_the_trace_and_the_gateway_span_is_its_root():
    """A client that sends no traceparent still learns its trace id (W3C traceresponse) and
    finds the whole request under it: the gateway's SERVER span first, the tasks service's
    work beneath it."""
    require_component("jaeger")
    base_url = require_suite()
    with httpx.Client(base_url=base_url, timeout=30) as client:
        token = new_user(client)
        created = client.post(
            "/api/v1/tasks",
            json={"title": "Trace me from the answer"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert created.status_code == 201, created.text
    version, trace_id, span_id, _flags = created.headers["traceresponse"].split("-")
    assert version == "00"

    trace = fetch_trace(trace_id, {"taskflow-gateway", "taskflow-tasks"})
    spans = {s["spanID"]: s for s in trace["spans"]}
    root = spans[span_id]
    assert root["operationName"].startswith("POST /api/v1/tasks")
    assert not [r for r in root["references"] if r["refType"] == "CHILD_OF"]
    kind = {t["key"]: t["value"] for t in root["tags"]}.get("span.kind")
    assert kind == "server"
    children = [s for s in spans.values() if any(r["spanID"] == span_id for r in s["references"])]
    assert children, "nothing ran beneath the gateway's span"
