import asyncio
import socket
import urllib.error
import urllib.request

from taskflow_common import process
from taskflow_common.metrics import EVENTS_PUBLISHED
from taskflow_common.process import Heartbeat, run_async, serve_metrics


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_metrics_exposes_the_process_registry_on_its_own_port():
    EVENTS_PUBLISHED.labels("tasks.task.created.v1").inc(0)
    port = free_port()

    assert serve_metrics(port) is True

    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "taskflow_events_published_total" in body


def test_serve_metrics_is_off_without_a_port_and_survives_a_taken_one():
    assert serve_metrics(None) is False
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert serve_metrics(taken.getsockname()[1]) is False


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_metrics_port_answers_liveness_from_the_event_loops_heartbeat():
    heartbeat = Heartbeat(stale_after=60.0)
    port = free_port()
    assert serve_metrics(port, heartbeat=heartbeat) is True

    # A process that never beats (the Celery worker) is alive while it answers.
    assert _get(port, "/healthz") == (200, "ok\n")
    heartbeat.beat()
    assert _get(port, "/healthz") == (200, "ok\n")

    # Given a loop that stopped beating long ago, then /healthz fails and the kubelet restarts it.
    heartbeat.stale_after = -1.0
    status, body = _get(port, "/healthz")
    assert status == 503
    assert "event loop stalled" in body
    # Only the ops paths are served: /healthz is not a metrics scrape under another name.
    assert _get(port, "/")[0] == 404


def test_run_async_beats_while_the_main_coroutine_runs(monkeypatch):
    heartbeat = Heartbeat()
    monkeypatch.setattr(process, "HEARTBEAT", heartbeat)
    seen = []

    async def main() -> str:
        await asyncio.sleep(0)  # the heartbeat task runs once the main coroutine yields
        seen.append(heartbeat.last_beat)
        return "done"

    assert heartbeat.last_beat is None
    assert run_async(main()) == "done"
    assert seen[0] is not None
