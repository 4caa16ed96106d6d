"""The embedded suite (`python -m taskflow_embedded`, what `make run` serves) on a free port,
with its own data directory, for the SDK's and the CLI's tests in the embedded mode."""

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

START_TIMEOUT = 180.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def embedded_gateway() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="taskflow-sdk-embedded-"))
    root.chmod(0o755)  # the database server runs as another OS user and must reach it
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKFLOW_")}
    env.update({"TASKFLOW_LOG_JSON": "false", "OTEL_SDK_DISABLED": "true"})
    log_path = root / "embedded.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "taskflow_embedded",
                "--port",
                str(port),
                "--data-dir",
                str(root / ".data"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        started = time.monotonic()
        while True:
            if process.poll() is not None:
                pytest.fail(f"the embedded suite exited:\n{log_path.read_text()[-4000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > START_TIMEOUT:
                pytest.fail(f"the embedded suite did not start:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)
