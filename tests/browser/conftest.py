"""Browser tests: Debian's headless Chromium driven by Playwright for Python, against the running
distributed suite behind the gateway (:8080) and the real Keycloak's login page.

Chromium comes from `scripts/stack up chromium` (apt); Playwright never downloads a browser of
its own. Screenshots are saved under .artifacts/browser/ (gitignored) for people to look at.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from taskflow_common.testing import KeycloakRealm
from taskflow_common.testing.browser import launch_chromium
from taskflow_common.testing.suite import require_suite

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "browser"


@pytest.fixture(scope="session")
def gateway() -> str:
    return require_suite()


@pytest.fixture(scope="session")
def realm() -> KeycloakRealm:
    return KeycloakRealm()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser profile (no cookies) per test; a screenshot of where it ended, always."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    page.screenshot(path=str(ARTIFACTS / f"{name}.end.png"), full_page=True)
    context.close()


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """Save a full-page screenshot as .artifacts/browser/<name>.png."""

    def save(page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
