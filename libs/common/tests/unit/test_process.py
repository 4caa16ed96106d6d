import socket
import urllib.request

from taskflow_common.metrics import EVENTS_PUBLISHED
from taskflow_common.process import serve_metrics


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
