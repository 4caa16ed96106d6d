"""Debian's headless Chromium for browser tests (tests/browser, embedded/tests), driven by
Playwright for Python. Chromium comes from `scripts/stack up chromium` (apt); Playwright never
downloads a browser of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
