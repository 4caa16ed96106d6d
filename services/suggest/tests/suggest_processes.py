"""What the suggest e2e tests need to start a `suggest consume` process of their own."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def stack_env() -> dict[str, str]:
    """The settings `scripts/stack env` prints for services on the local stack."""
    out = subprocess.run(
        [str(ROOT / "scripts" / "stack"), "env"], check=True, capture_output=True, text=True
    ).stdout
    env = {}
    for line in out.splitlines():
        key, sep, value = line.removeprefix("export ").partition("=")
        if sep:
            env[key.strip()] = value.strip().strip('"').strip("'")
    return env
