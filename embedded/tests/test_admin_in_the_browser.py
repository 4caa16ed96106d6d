"""The embedded suite's admin site in headless Chromium: the same OIDC code flow with PKCE the
distributed mode runs against Keycloak, here against the development identity provider's
login page, as its development administrator `admin`.

Sign in, open the tasks changelist, filter the overdue tasks, run the bulk "set priority",
see the change in the owner's task API and the audit entry in the admin API, sign out.
Screenshots are saved under .artifacts/browser/.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from taskflow_common.testing.browser import (
    launch_chromium,
    tasks_overdue_in_a_moment,
    wait_until_overdue,
)

from .conftest import EmbeddedRun  # type: ignore[import-not-found]

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "browser"
ADMIN_PASSWORD = "embedded-admin-password-1"


@pytest.fixture
def suite(embedded_run: EmbeddedRun) -> EmbeddedRun:
    embedded_run.env["TASKFLOW_DEV_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    embedded_run.start()
    return embedded_run


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            page.screenshot(path=str(ARTIFACTS / f"embedded-{name}.end.png"), full_page=True)
            browser.close()


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"embedded-{name}.png"), full_page=True)


def _owner_api(url: str) -> httpx.Client:
    name = f"owner{secrets.token_hex(3)}"
    password = "owner-password-1"
    registered = httpx.post(
        f"{url}/auth/register",
        json={"username": name, "email": f"{name}@example.test", "password": password},
    )
    assert registered.status_code == 201, registered.text
    login = httpx.post(f"{url}/auth/login", json={"username": name, "password": password})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    return httpx.Client(base_url=url, timeout=30, headers={"authorization": f"Bearer {token}"})


def _sign_in(page: Page, url: str) -> None:
    """On the development provider's login page, which /admin/ sends the browser to (or
    where a refused password showed it again)."""
    expect(page).to_have_url(re.compile(rf"^{re.escape(url)}/auth/oidc/(authorize\?|login$)"))
    page.fill("#username", "admin")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("#taskflow-login button[type=submit]")


def test_the_development_administrator_signs_in_and_sets_priorities_in_bulk(
    suite: EmbeddedRun, page: Page
) -> None:
    url = suite.url
    api = _owner_api(url)
    tasks = tasks_overdue_in_a_moment(api)
    marker, created, overdue = tasks.marker, tasks.created, tasks.overdue

    page.goto(f"{url}/admin/")
    _screenshot(page, "admin-login-page")
    page.fill("#username", "admin")
    page.fill("#password", "not-the-password")
    page.click("#taskflow-login button[type=submit]")
    expect(page.locator("p.error")).to_contain_text("Invalid username or password.")
    _sign_in(page, url)
    expect(page).to_have_url(f"{url}/admin/")
    _screenshot(page, "admin-dashboard")

    wait_until_overdue(tasks)
    page.goto(f"{url}/admin/tasks/")
    page.fill("#searchbar", marker)
    page.check("input[name=overdue]")
    page.click("#changelist-search input[type=submit]")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#result_list")).not_to_contain_text("print the badges")
    page.check("#result_list thead input[type=checkbox]")
    page.select_option("#changelist-form select[name=action]", "set_priority")
    page.select_option("#changelist-form select[name=priority]", "urgent")
    page.click("#changelist-form button[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Set priority: 2 task(s) changed.")
    _screenshot(page, "admin-tasks-bulk-priority")
    for task in created.values():
        now_reads = api.get(f"/api/v1/tasks/{task['id']}").json()
        assert now_reads["priority"] == ("urgent" if task["id"] in overdue else task["priority"])

    # The audit log names the administrator, the action and the tasks.
    login = httpx.post(f"{url}/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    admin_api = {"authorization": f"Bearer {login.json()['access_token']}"}
    entries = httpx.get(
        f"{url}/api/v1/admin/audit",
        params={"action": "task.bulk.set_priority"},
        headers=admin_api,
        timeout=30,
    )
    assert entries.status_code == 200, entries.text
    (entry,) = entries.json()["data"]
    assert entry["actor"]["username"] == "admin"
    assert entry["after"] == {"action": "set_priority", "priority": "urgent"}
    assert set(entry["detail"]["ids"]) == overdue

    # Signing out ends the admin session (and the provider's, tested in the gateway's suite).
    page.click("#logout-form button[type=submit]")
    expect(page).to_have_url(f"{url}/admin/oidc/signed-out/")
    page.goto(f"{url}/admin/")
    expect(page).to_have_url(re.compile(rf"^{re.escape(url)}/auth/oidc/authorize\?"))
    expect(page.locator("#taskflow-login")).to_be_visible()
