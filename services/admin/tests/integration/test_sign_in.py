"""Signing in to /admin/ through the real Keycloak: code flow with PKCE, role → staff, 403, logout.

The admin service runs as a real process; a browser is played by httpx following redirects and
filling Keycloak's own login form.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from support import free_port, serve_module

from taskflow_common.testing import KeycloakRealm, TestUser, require_component
from taskflow_common.testing.login_form import browser, login_form, sign_in, submit_login

KEYCLOAK_AUTH = "http://127.0.0.1:8180/realms/taskflow/protocol/openid-connect/auth"


@pytest.fixture(scope="module")
def admin_url(admin_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_component("keycloak")
    log: Path = tmp_path_factory.mktemp("admin-sign-in") / "admin.log"
    yield from serve_module(
        "taskflow_admin", free_port(), log, TASKFLOW_DATABASE_URL=admin_database
    )


@pytest.fixture(scope="module")
def realm() -> KeycloakRealm:
    return KeycloakRealm()


@pytest.fixture
def administrator(realm: KeycloakRealm) -> TestUser:
    return realm.create_user("admin", roles=("user", "admin"))


def test_admin_without_a_session_is_sent_to_keycloak_with_pkce(admin_url: str) -> None:
    with browser() as client:
        first = client.get(f"{admin_url}/admin/")
        assert first.status_code == 302
        assert first.headers["location"] == "/admin/login/?next=/admin/"
        login = client.get(f"{admin_url}{first.headers['location']}")
        assert login.status_code == 302
        to_provider = client.get(f"{admin_url}{login.headers['location']}")

    assert to_provider.status_code == 302
    target = urlsplit(to_provider.headers["location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == KEYCLOAK_AUTH
    assert query["client_id"] == ["taskflow-admin"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [f"{admin_url}/admin/oidc/callback/"]


def test_no_password_form_is_served(admin_url: str) -> None:
    with browser() as client:
        page = client.get(f"{admin_url}/admin/login/", follow_redirects=True)
        # The form on screen is Keycloak's, not Django's.
        assert str(page.url).startswith(KEYCLOAK_AUTH.rsplit("/", 1)[0])
        assert "csrfmiddlewaretoken" not in page.text
        posted = client.post(f"{admin_url}/admin/login/", data={"username": "x", "password": "y"})
    assert posted.status_code in (403, 405)


def test_an_administrator_signs_in_and_becomes_a_staff_superuser(
    admin_url: str, administrator: TestUser, admin_database: str
) -> None:
    with browser() as client:
        index = sign_in(client, f"{admin_url}/admin/", administrator)

        assert index.status_code == 200, index.text[:500]
        assert str(index.url) == f"{admin_url}/admin/"
        assert "Site administration" in index.text
        assert "Welcome," in index.text  # the signed-in header, with the logout button
        audit = client.get(f"{admin_url}/admin/taskflow_admin/auditentry/")
        assert audit.status_code == 200

    with psycopg.connect(admin_database) as conn:
        row = conn.execute(
            "SELECT is_staff, is_superuser, email, password FROM admin.auth_user"
            " WHERE username = %s",
            (administrator.username,),
        ).fetchone()
    assert row is not None
    is_staff, is_superuser, email, password = row
    assert (is_staff, is_superuser, email) == (True, True, administrator.email)
    assert password.startswith("!")  # unusable: there is no local password


def test_a_user_without_the_admin_role_gets_the_403_page_with_a_logout(
    admin_url: str, realm: KeycloakRealm
) -> None:
    plain = realm.create_user("plain")
    with browser() as client:
        refused = sign_in(client, f"{admin_url}/admin/", plain)

        assert refused.status_code == 403
        assert str(refused.url) == f"{admin_url}/admin/oidc/refused/"
        assert plain.username in refused.text
        assert "does not have the" in refused.text
        assert 'action="/admin/logout/"' in refused.text
        # No admin session was opened.
        again = client.get(f"{admin_url}/admin/")
        assert again.status_code == 302


def test_logout_ends_the_keycloak_session_too(admin_url: str, administrator: TestUser) -> None:
    with browser() as client:
        index = sign_in(client, f"{admin_url}/admin/", administrator)
        assert index.status_code == 200
        csrf = index.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]

        out = client.post(
            f"{admin_url}/admin/logout/",
            data={"csrfmiddlewaretoken": csrf},
            headers={"origin": admin_url, "referer": f"{admin_url}/admin/"},
        )
        assert out.status_code == 302
        end_session = urlsplit(out.headers["location"])
        assert end_session.path == "/realms/taskflow/protocol/openid-connect/logout"
        assert "id_token_hint" in parse_qs(end_session.query)
        signed_out = client.get(out.headers["location"], follow_redirects=True)
        assert str(signed_out.url) == f"{admin_url}/admin/oidc/signed-out/"
        assert "signed out" in signed_out.text

        # Keycloak asks for the password again: its session is gone, not only Django's.
        page = client.get(f"{admin_url}/admin/", follow_redirects=True)
        login_form(page)
        back = submit_login(client, page, administrator)
        assert back.status_code == 200
        assert "Site administration" in back.text


def test_a_former_administrator_is_refused_at_the_next_sign_in(
    admin_url: str, realm: KeycloakRealm, administrator: TestUser, admin_database: str
) -> None:
    with browser() as client:
        assert sign_in(client, f"{admin_url}/admin/", administrator).status_code == 200
    realm.revoke_role(administrator, "admin")

    with browser() as client:
        refused = sign_in(client, f"{admin_url}/admin/", administrator)
    assert refused.status_code == 403
    with psycopg.connect(admin_database) as conn:
        row = conn.execute(
            "SELECT is_staff, is_superuser FROM admin.auth_user WHERE username = %s",
            (administrator.username,),
        ).fetchone()
    assert row == (False, False)
