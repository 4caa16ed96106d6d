"""upstream_token: the signed-in administrator's token for calls to other services, refreshed
with the real Keycloak shortly before it expires.

Django runs in this test process (conftest; these sessions are kept in signed cookies); the
tokens come from a real code flow with PKCE for `taskflow-admin`.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from taskflow_common.testing import KeycloakRealm, TestUser
from taskflow_common.testing.login_form import authorization_code, browser, pkce_pair

REDIRECT_URI = "http://127.0.0.1:9/admin/oidc/callback/"  # never followed: the code is read
CLIENT_ID, CLIENT_SECRET = "taskflow-admin", "taskflow-admin-dev-secret"


@pytest.fixture
def django_in_process(admin_django: object) -> None:
    """Django of this test process (conftest), with the real Keycloak's verifier."""


@pytest.fixture(scope="module")
def realm() -> KeycloakRealm:
    return KeycloakRealm()


def admin_ui_tokens(realm: KeycloakRealm, user: TestUser) -> dict[str, Any]:
    """What the admin site's login gets from Keycloak: a code flow with PKCE, then the exchange."""
    verifier, challenge = pkce_pair()
    with browser() as client:
        code = authorization_code(
            client,
            f"{realm.issuer}/protocol/openid-connect/auth",
            client_id=CLIENT_ID,
            redirect_uri=REDIRECT_URI,
            user=user,
            code_challenge=challenge,
        )
    answer = httpx.post(
        realm.token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def request_with_tokens(tokens: dict[str, Any] | None, expires_in: float) -> Any:
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from django.test import RequestFactory

    from taskflow_admin.identity.tokens import SessionTokens, keep_tokens

    request = RequestFactory().get("/admin/tasks/?status=open")
    request.session = SessionStore()
    request.user = AnonymousUser()
    if tokens is not None:
        keep_tokens(
            request,
            SessionTokens.from_token_response({**tokens, "expires_in": expires_in}, time.time()),
        )
    return request


def test_a_session_without_a_sign_in_has_no_token(django_in_process: None) -> None:
    from taskflow_admin.identity import UpstreamTokenMissingError, upstream_token

    with pytest.raises(UpstreamTokenMissingError):
        upstream_token(request_with_tokens(None, 0))


def test_a_token_far_from_expiry_is_used_as_it_is(
    django_in_process: None, realm: KeycloakRealm
) -> None:
    from taskflow_admin.identity import upstream_token

    tokens = admin_ui_tokens(realm, realm.create_user("admin", roles=("user", "admin")))
    request = request_with_tokens(tokens, expires_in=300)

    assert upstream_token(request) == tokens["access_token"]


def test_a_token_expiring_within_30_seconds_is_refreshed(
    django_in_process: None, realm: KeycloakRealm
) -> None:
    from taskflow_admin.identity import upstream_token
    from taskflow_admin.identity.tokens import admin_principal, stored_tokens

    admin = realm.create_user("admin", roles=("user", "admin"))
    tokens = admin_ui_tokens(realm, admin)
    request = request_with_tokens(tokens, expires_in=29)

    fresh = upstream_token(request)

    assert fresh != tokens["access_token"]
    principal = admin_principal(fresh)
    assert (principal.sub, "admin" in principal.roles) == (admin.id, True)
    kept = stored_tokens(request)
    assert kept is not None
    assert kept.access_token == fresh
    assert kept.expires_at > time.time() + 200  # Keycloak's 300 s lifetime, from now
    assert upstream_token(request) == fresh  # no second refresh


def test_a_refresh_the_provider_refuses_ends_the_session(
    django_in_process: None, realm: KeycloakRealm
) -> None:
    from taskflow_admin.identity import UpstreamTokenMissingError, upstream_token
    from taskflow_admin.identity.tokens import stored_tokens

    admin = realm.create_user("admin", roles=("user", "admin"))
    request = request_with_tokens(admin_ui_tokens(realm, admin), expires_in=5)
    realm.end_sessions(admin)  # signed out in Keycloak: the refresh token is dead

    with pytest.raises(UpstreamTokenMissingError, match="refused the refresh"):
        upstream_token(request)
    assert stored_tokens(request) is None


def test_a_refreshed_token_without_the_admin_role_ends_the_session(
    django_in_process: None, realm: KeycloakRealm
) -> None:
    from taskflow_admin.identity import UpstreamTokenMissingError, upstream_token
    from taskflow_admin.identity.tokens import stored_tokens

    admin = realm.create_user("admin", roles=("user", "admin"))
    request = request_with_tokens(admin_ui_tokens(realm, admin), expires_in=5)
    realm.revoke_role(admin, "admin")

    with pytest.raises(UpstreamTokenMissingError, match="no longer has the admin role"):
        upstream_token(request)
    assert stored_tokens(request) is None


def test_the_middleware_sends_a_missing_token_to_sign_in_again(django_in_process: None) -> None:
    from django.http import HttpResponse

    from taskflow_admin.identity import UpstreamTokenMissingError
    from taskflow_admin.identity.middleware import SignInAgainMiddleware

    middleware = SignInAgainMiddleware(lambda request: HttpResponse())
    request = request_with_tokens(None, 0)

    answer = middleware.process_exception(request, UpstreamTokenMissingError("gone"))

    assert answer is not None
    assert answer.status_code == 302
    next_page = "%2Fadmin%2Ftasks%2F%3Fstatus%3Dopen"
    assert answer["location"] == f"/admin/oidc/authenticate/?next={next_page}"
