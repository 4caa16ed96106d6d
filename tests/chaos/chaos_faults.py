"""The faults the chaos run injects into the local stack, each one undone before it returns.

Components are found by the pid files `scripts/stack` (.stack/<component>/) and `scripts/suite`
(.stack/suite/<process>.pid) keep, and brought back with the same scripts, so a fault leaves
the stack as `make up` would. Every fault records its window, for the error accounting.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / ".stack"


@dataclass
class Window:
    name: str
    started: float
    ended: float | None = None


@dataclass
class FaultLog:
    windows: list[Window] = field(default_factory=list)

    def during(self, name: str, action: Callable[[], None]) -> None:
        window = Window(name, time.time())
        self.windows.append(window)
        try:
            action()
        finally:
            window.ended = time.time()
        print(f"[chaos] {name}: {window.ended - window.started:.1f} s", flush=True)

    def overlaps(self, name: str, started: float, ended: float, grace: float) -> bool:
        """Whether [started, ended] touches a window of this fault (plus grace after it)."""
        return any(
            w.name == name and started <= (w.ended or time.time()) + grace and ended >= w.started
            for w in self.windows
        )


def _script(*args: str) -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / args[0]), *args[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scripts/{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def _pid(pid_file: Path) -> int:
    return int(pid_file.read_text().strip())


def _wait_gone(pid: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise RuntimeError(f"process {pid} outlived its kill")


def stack_up(*components: str) -> None:
    _script("stack", "up", *components)


def suite_up() -> None:
    """Starts whichever suite process is not running (the rest are left alone)."""
    _script("suite", "up", "--no-stack")


def kill_rabbitmq() -> None:
    """kill -9 the broker's VM (no clean shutdown, unacked messages return), then restart it."""
    pid = _pid(STACK / "rabbitmq" / "rabbit@localhost.pid")
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)
    time.sleep(2)
    stack_up("rabbitmq")


def restart_postgres() -> None:
    _script("stack", "down", "postgres")
    stack_up("postgres")


def kill_worker() -> None:
    """SIGKILL notify's Celery worker mid-flight, then start it again."""
    pid = _pid(STACK / "suite" / "notify-worker.pid")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _wait_gone(pid)
    time.sleep(1)
    suite_up()


def stop_redis(for_seconds: float) -> None:
    _script("stack", "down", "redis")
    try:
        time.sleep(for_seconds)
    finally:
        stack_up("redis")


def restore_everything() -> None:
    """After the run, whatever happened: every component and suite process running again."""
    stack_up("postgres", "redis", "rabbitmq")
    suite_up()
