"""Test helpers: TaskFlow processes as real subprocesses on free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_module(package: str, port: int, log: Path, **settings: str) -> Iterator[str]:
    """`python -m <package> serve` on `port` with extra settings; yields its URL once healthy."""
    env = {
        **os.environ,
        "TASKFLOW_PORT": str(port),
        "TASKFLOW_ENV": "test",
        "OTEL_SDK_DISABLED": "true",
        **settings,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", package, "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{package} did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(timeout=20)
