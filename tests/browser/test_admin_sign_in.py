"""The admin site in a real browser: sign-in on Keycloak's own login page, the 403 page, CSS."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, Response, expect

from taskflow_common.testing import KeycloakRealm, TestUser

Screenshot = Callable[[Page, str], Path]
KEYCLOAK_LOGIN = re.compile(r"^http://127\.0\.0\.1:8180/realms/taskflow/")


def sign_in_on_keycloak(page: Page, user: TestUser) -> None:
    expect(page).to_have_url(KEYCLOAK_LOGIN)
    page.fill("#username", user.username)
    page.fill("#password", user.password)
    page.click("#kc-login")


def test_admin_without_a_session_is_sent_to_the_keycloak_login_page(
    page: Page, gateway: str, screenshot: Screenshot
) -> None:
    page.goto(f"{gateway}/admin/")

    expect(page).to_have_url(KEYCLOAK_LOGIN)
    assert "client_id=taskflow-admin" in page.url
    assert "code_challenge_method=S256" in page.url
    expect(page.locator("#kc-form-login")).to_be_visible()
    screenshot(page, "keycloak-login")


def test_an_administrator_signs_in_and_sees_the_styled_admin_index(
    page: Page, gateway: str, realm: KeycloakRealm, screenshot: Screenshot
) -> None:
    admin = realm.create_user("admin", roles=("user", "admin"))
    stylesheets: list[Response] = []
    page.on(
        "response",
        lambda r: stylesheets.append(r) if r.request.resource_type == "stylesheet" else None,
    )

    page.goto(f"{gateway}/admin/")
    sign_in_on_keycloak(page, admin)

    expect(page).to_have_url(f"{gateway}/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    expect(page.get_by_text("Welcome,")).to_be_visible()
    admin_css = [r for r in stylesheets if r.url.startswith(f"{gateway}/static/admin/css/")]
    assert admin_css, [r.url for r in stylesheets]
    assert all(r.status == 200 for r in admin_css), [(r.url, r.status) for r in admin_css]
    # The CSS is applied, not only fetched: the header has the theme's background.
    header_background = page.evaluate(
        "getComputedStyle(document.querySelector('#header')).backgroundColor"
    )
    assert header_background not in ("", "rgba(0, 0, 0, 0)", "transparent")
    screenshot(page, "admin-index")


def test_a_user_without_the_admin_role_gets_the_403_page_and_can_sign_out(
    page: Page, gateway: str, realm: KeycloakRealm, screenshot: Screenshot
) -> None:
    plain = realm.create_user("plain")
    answers: list[int] = []
    page.on(
        "response",
        lambda r: answers.append(r.status) if r.url.endswith("/admin/oidc/refused/") else None,
    )

    page.goto(f"{gateway}/admin/")
    sign_in_on_keycloak(page, plain)

    expect(page).to_have_url(f"{gateway}/admin/oidc/refused/")
    assert answers == [403]
    expect(page.get_by_text(plain.username)).to_be_visible()
    expect(page.get_by_text("does not have the")).to_be_visible()
    screenshot(page, "admin-refused-403")

    page.click("#taskflow-logout")
    expect(page).to_have_url(f"{gateway}/admin/oidc/signed-out/")
    # Keycloak's session ended too: signing in again asks for the password.
    page.click("text=Sign in again")
    expect(page.locator("#kc-form-login")).to_be_visible()
