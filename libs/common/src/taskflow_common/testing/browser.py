"""Debian's headless Chromium for browser tests (tests/browser, embedded/tests), driven by
Playwright for Python. Chromium comes from `scripts/stack up chromium` (apt); Playwright never
downloads a browser of its own."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
# As the machine's own probe runs it: no sandbox as root, and no background connections to
# hosts this network cannot reach (each would be refused, many at a time).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright: Any) -> Any:
    """The system Chromium, headless; fails the test (never skips) when it is not installed."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install it with `scripts/stack up chromium` "
            "(or `make test`, which installs the whole stack)",
            pytrace=False,
        )
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


@dataclass(frozen=True)
class OverdueInAMoment:
    """Three tasks of one owner, two of them overdue once `due` has passed."""

    marker: str  # in every title: the changelist's search finds these and no others
    due: datetime
    created: dict[str, dict[str, Any]]  # by id, as the API answered
    overdue: set[str]


def tasks_overdue_in_a_moment(api: httpx.Client) -> OverdueInAMoment:
    """Created through the owner's task API, which refuses a due date in the past: two are due
    two seconds from now, the third in five days."""
    marker = f"offsite-{secrets.token_hex(3)}"
    due = datetime.now(UTC) + timedelta(seconds=2)
    created: dict[str, dict[str, Any]] = {}
    overdue = set()
    for title, due_at in (
        (f"{marker} book the rooms", due),
        (f"{marker} send the agenda", due),
        (f"{marker} print the badges", due + timedelta(days=5)),
    ):
        answer = api.post("/api/v1/tasks", json={"title": title, "due_at": due_at.isoformat()})
        assert answer.status_code == 201, answer.text
        task = answer.json()
        created[task["id"]] = task
        if due_at == due:
            overdue.add(task["id"])
    return OverdueInAMoment(marker, due, created, overdue)


def wait_until_overdue(tasks: OverdueInAMoment) -> None:
    time.sleep(max(0.0, (tasks.due - datetime.now(UTC)).total_seconds() + 0.5))
