"""Helpers shared by the SDK's and the CLI's tests against a running suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMMITTED_OPENAPI = Path(__file__).resolve().parents[1] / "openapi.json"


def committed_openapi() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(COMMITTED_OPENAPI.read_text())
    return loaded


@dataclass
class Cli:
    """`taskflow` as its own process, with its own config directory and time zone."""

    server: str
    config_dir: Path
    tz: str = "Europe/Berlin"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKFLOW_")}
        env.update(
            TASKFLOW_SERVER=self.server,
            TASKFLOW_CONFIG_DIR=str(self.config_dir),
            TASKFLOW_TZ=self.tz,
            COLUMNS="200",
            **extra,
        )
        return env

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "taskflow_sdk.cli", *args]

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), capture_output=True, text=True, env=self.env(**env), timeout=120
        )

    def ok(self, *args: str, **env: str) -> str:
        result = self(*args, **env)
        assert result.returncode == 0, (args, result.returncode, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))
