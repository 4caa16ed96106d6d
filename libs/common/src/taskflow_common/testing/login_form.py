"""Signing in as a browser does, over plain HTTP: follow redirects, fill the login form.

For tests of OIDC authorization-code logins (the admin site) against the real Keycloak, or the
development identity provider's login page, without a browser.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from taskflow_common.testing.keycloak import TestUser

LOGIN_FORM_IDS = ("kc-form-login", "taskflow-login")
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def browser(**kwargs: Any) -> httpx.Client:
    """An httpx client that keeps cookies the way a browser on this machine would.

    Browsers treat http://127.0.0.1 as a secure context and send it Secure cookies (Keycloak
    marks its login cookies Secure even over http); the standard cookie jar does not, and
    httpx copies cookies into a default jar on every request, so a custom policy would not
    last. Instead each response's loopback cookies lose the flag as they are stored.
    """
    client = httpx.Client(timeout=30.0, **kwargs)

    def keep_loopback_cookies(response: httpx.Response) -> None:
        for cookie in client.cookies.jar:
            if cookie.secure and cookie.domain in _LOOPBACK:
                cookie.secure = False

    client.event_hooks["response"] = [*client.event_hooks["response"], keep_loopback_cookies]
    return client


class _FormFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.hidden: dict[str, str] = {}
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and values.get("id") in LOGIN_FORM_IDS:
            self.action, self._inside = values.get("action", ""), True
        elif (
            self._inside
            and tag == "input"
            and values.get("type") == "hidden"
            and values.get("name")
        ):
            self.hidden[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def login_form(page: httpx.Response) -> tuple[str, dict[str, str]]:
    """The login form's absolute action URL and hidden fields, from the page showing it."""
    finder = _FormFinder()
    finder.feed(page.text)
    if finder.action is None:
        raise AssertionError(
            f"no login form at {page.url} ({page.status_code}):\n{page.text[:800]}"
        )
    return urljoin(str(page.url), finder.action), finder.hidden


def submit_login(client: httpx.Client, page: httpx.Response, user: TestUser) -> httpx.Response:
    """Fill and post the login form shown on `page`, following redirects as a browser would."""
    action, hidden = login_form(page)
    return client.post(
        action,
        data={**hidden, "username": user.username, "password": user.password},
        follow_redirects=True,
    )


def sign_in(client: httpx.Client, start_url: str, user: TestUser) -> httpx.Response:
    """GET `start_url`, follow to the identity provider's login page, sign in, follow back."""
    page = client.get(start_url, follow_redirects=True)
    return submit_login(client, page, user)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_code(
    client: httpx.Client,
    authorization_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    user: TestUser,
    code_challenge: str,
) -> str:
    """Run the browser half of a code flow with PKCE and return the code (redirect not followed)."""
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid profile email",
            "state": secrets.token_urlsafe(8),
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
    )
    page = client.get(f"{authorization_url}?{query}", follow_redirects=True)
    action, hidden = login_form(page)
    answer = client.post(
        action, data={**hidden, "username": user.username, "password": user.password}
    )
    location = answer.headers.get("location", "")
    if answer.status_code not in (302, 303) or not location.startswith(redirect_uri):
        raise AssertionError(f"no redirect with a code ({answer.status_code}): {answer.text[:800]}")
    return str(parse_qs(urlsplit(location).query)["code"][0])
