"""Task creation is never slowed by the model: with the model endpoint hanging, the latency
of `POST /api/v1/tasks` through the gateway stays at the baseline measured in this same test,
and the suggestion for each new task still arrives, from the heuristic.

The suite's own processes are left alone: this test runs one more `suggest consume` process
(its own queue) whose model is the replay server's hanging scenario.
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from suggest_processes import stack_env
from suggest_queues import consumer_count, delete_queues, delete_stale_test_queues

from taskflow_common.messaging.amqp import dead_letter_queue_name, queue_name
from taskflow_common.testing import KeycloakRealm
from taskflow_common.testing.suite import require_suite

pytestmark = pytest.mark.e2e

REQUESTS_PER_PHASE = 20
MODEL_TIMEOUT = 2.0
# A request that waited for the model would take at least MODEL_TIMEOUT (2 s). The allowance
# for a noisy shared machine is twice the baseline or 50 ms over it, whichever is larger: the
# baseline is ~10 ms now, so a ratio alone fails on a few milliseconds of noise (an extra
# process is starting and working on these cores), yet either bound sits far below 2 s.
MAX_SLOWDOWN = 2.0
MAX_ADDED_SECONDS = 0.05


def _create_tasks(
    client: httpx.Client, token: str, count: int, tag: str
) -> tuple[list[float], list[str]]:
    latencies, ids = [], []
    due = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    for i in range(count):
        started = time.perf_counter()
        response = client.post(
            "/api/v1/tasks",
            json={"title": f"Production outage {tag}-{i}: checkout down", "due_at": due},
            headers={"Authorization": f"Bearer {token}"},
        )
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return latencies, ids


def _wait_for_consumer(consumer: str, process: subprocess.Popen, log: Path) -> None:
    """Until the broker shows a consumer on the process's queue (events before are not routed)."""
    deadline = time.monotonic() + 60
    while consumer_count(queue_name(consumer)) == 0:
        assert process.poll() is None, log.read_text()[-3000:]
        if time.monotonic() > deadline:
            pytest.fail("the extra suggest consumer did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.5)


def _model_was_tried(replay_server, tag: str, log: Path) -> bool:
    asked = " ".join(c["messages"][1]["content"] for c in replay_server.calls("replay-timeout"))
    return f"hang-{tag}-" in asked or '"reason": "timeout"' in log.read_text(errors="replace")


def test_a_hanging_model_does_not_slow_task_creation_and_the_heuristic_answers(
    suggest_replay_server, tmp_path
):
    gateway = require_suite()
    delete_stale_test_queues()
    realm = KeycloakRealm()
    user = realm.create_user("suggest-e2e")
    token = realm.access_token(user)
    tag = secrets.token_hex(3)
    consumer = f"suggest-e2e-{tag}"
    with httpx.Client(base_url=gateway, timeout=30.0) as client:
        _create_tasks(client, token, 3, f"warmup-{tag}")  # connections, caches, JIT-less warmup
        baseline, _ = _create_tasks(client, token, REQUESTS_PER_PHASE, f"base-{tag}")

        env = {
            **os.environ,
            **stack_env(),
            "TASKFLOW_MODE": "distributed",
            "TASKFLOW_CONSUMER_NAME": consumer,
            "TASKFLOW_LLM_BASE_URL": suggest_replay_server.base_url,
            "TASKFLOW_LLM_MODEL": "replay-timeout",
            "TASKFLOW_LLM_TIMEOUT_SECONDS": str(MODEL_TIMEOUT),
            "TASKFLOW_LLM_CACHE_TTL_SECONDS": "0",
            "OTEL_SDK_DISABLED": "true",
        }
        log = tmp_path / "consumer.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "taskflow_suggest", "consume"],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for_consumer(consumer, process, log)
            hanging, ids = _create_tasks(client, token, REQUESTS_PER_PHASE, f"hang-{tag}")

            base, hung = statistics.median(baseline), statistics.median(hanging)
            print(
                f"POST /api/v1/tasks median: baseline {base * 1000:.1f} ms,"
                f" model hanging {hung * 1000:.1f} ms, ratio {hung / base:.2f}"
            )
            assert hung <= max(MAX_SLOWDOWN * base, base + MAX_ADDED_SECONDS)

            # The model was asked (and hung) for the new tasks; after five timeouts the
            # breaker opens and the rest are not even sent to it. Evidence of the attempt: the
            # replay server saw the call, or the consumer logged a fallback by timeout (a call
            # cut off while the loaded machine was still delivering it to the server).
            deadline = time.monotonic() + 90
            while not _model_was_tried(suggest_replay_server, tag, log):
                if time.monotonic() > deadline:
                    pytest.fail(
                        "the consumer never called the (hanging) model:\n" + log.read_text()[-3000:]
                    )
                time.sleep(0.5)

            # ...and every new task still gets its suggestion, from the heuristic.
            headers = {"Authorization": f"Bearer {token}"}
            for task_id in ids:
                while True:
                    listed = client.get(
                        "/api/v1/suggestions", params={"task_id": task_id}, headers=headers
                    )
                    assert listed.status_code == 200, listed.text
                    data = listed.json()["data"]
                    if data:
                        break
                    assert time.monotonic() < deadline, f"no suggestion for task {task_id}"
                    time.sleep(0.5)
                assert {s["source"] for s in data} == {"heuristic"}
                assert all(s["priority"] in ("high", "urgent") for s in data)
        finally:
            process.terminate()
            process.wait(timeout=15)
            delete_queues(queue_name(consumer), dead_letter_queue_name(consumer))
