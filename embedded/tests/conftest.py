"""`python -m taskflow_embedded` as a real process on a free port and its own data directory."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def suite_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKFLOW_")}
    env.update({"TASKFLOW_LOG_JSON": "false", "OTEL_SDK_DISABLED": "true", **extra})
    return env


class EmbeddedRun:
    """One `python -m taskflow_embedded` process; `start` again for the next run on the same
    data directory."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.env = env
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"embedded-{self.runs}.log"

    def spawn(self) -> subprocess.Popen[bytes]:
        self.runs += 1
        with self.log_path.open("wb") as log:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "taskflow_embedded",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=suite_env(**self.env),
            )

    def start(self) -> float:
        """Start and wait for /healthz; returns the seconds it took."""
        started = time.monotonic()
        self.process = self.spawn()
        while time.monotonic() - started < START_TIMEOUT:
            if self.process.poll() is not None:
                pytest.fail(f"embedded suite exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                time.sleep(0.1)
        pytest.fail(f"embedded suite did not start in {START_TIMEOUT} s:\n{self.log()}")

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def postmaster_pid(self) -> int | None:
        """The pid of a live PostgreSQL server on this data directory, if any."""
        try:
            pid = int((self.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid


@pytest.fixture
def reachable_dir() -> Iterator[Path]:
    """A temporary directory the database server's OS user can traverse.

    pytest's tmp_path is 0700 under root, and as root the server runs as another user.
    """
    path = Path(tempfile.mkdtemp(prefix="taskflow-embedded-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def embedded_run(reachable_dir: Path) -> Iterator[EmbeddedRun]:
    run = EmbeddedRun(reachable_dir / ".data")
    try:
        yield run
    finally:
        if run.process is not None and run.process.poll() is None:
            run.stop(signal.SIGTERM)
        leftover = run.postmaster_pid()
        if leftover is not None:  # a test that killed its run: leave no server behind
            os.kill(leftover, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while run.postmaster_pid() is not None and time.monotonic() < deadline:
                time.sleep(0.1)
