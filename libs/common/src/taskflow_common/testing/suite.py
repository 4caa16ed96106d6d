"""The running distributed suite for e2e tests: started through `scripts/suite up` if needed."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

GATEWAY_URL = "http://127.0.0.1:8080"
E2E_RATE_LIMITS = '{"auth_credentials": {"rate": 600, "period_seconds": 60, "burst": 100}}'
_lock = threading.Lock()


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "scripts" / "suite").exists():
            return parent
    raise RuntimeError("cannot find the repository root (scripts/suite)")


def _gateway_ready() -> bool:
    try:
        return httpx.get(f"{GATEWAY_URL}/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def require_suite() -> str:
    """The gateway's base URL, with every service running as its own process behind it."""
    with _lock:
        if _gateway_ready():
            return GATEWAY_URL
        # Tests log in from 127.0.0.1 many times a minute: raise the per-IP credentials limit
        # (unless the caller chose one); the API limits keep their defaults.
        env = {"TASKFLOW_RATE_LIMITS": E2E_RATE_LIMITS, **os.environ}
        result = subprocess.run(
            [str(_repo_root() / "scripts" / "suite"), "up"],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0 or not _gateway_ready():
            pytest.fail(
                "the distributed suite did not come up (`scripts/suite up` failed; "
                "see `scripts/suite status` and .stack/suite/*.log):\n"
                + (result.stdout + result.stderr)[-3000:],
                pytrace=False,
            )
        return GATEWAY_URL
