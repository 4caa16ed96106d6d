"""The admin service as a real process: its own schema, ops endpoints, role-guarded API.

It runs as a subprocess (one Django settings module per process), on a database created for
this test session and dropped after it, verifying real Keycloak tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from support import free_port, serve_module

from taskflow_common.testing import KeycloakRealm, require_component
from taskflow_common.testing.login_form import browser, sign_in


def _serve_admin(database: str, log: Path, **settings: str) -> Iterator[str]:
    """`python -m taskflow_admin serve` on a free port, with extra TASKFLOW_* settings."""
    require_component("keycloak")
    yield from serve_module(
        "taskflow_admin", free_port(), log, TASKFLOW_DATABASE_URL=database, **settings
    )


@pytest.fixture(scope="module")
def admin_metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def admin_url(
    admin_database: str, admin_metrics_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from _serve_admin(
        admin_database,
        tmp_path_factory.mktemp("admin") / "admin.log",
        TASKFLOW_METRICS_PORT=str(admin_metrics_port),
    )


@pytest.fixture(scope="module")
def operators_admin_url(
    admin_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An admin service whose administrators carry the realm role `user` (TASKFLOW_ADMIN_ROLE)."""
    yield from _serve_admin(
        admin_database,
        tmp_path_factory.mktemp("admin-operators") / "admin.log",
        TASKFLOW_ADMIN_ROLE="user",
    )


def test_ops_endpoints_and_problem_errors(admin_url: str, admin_metrics_port: int) -> None:
    assert httpx.get(f"{admin_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{admin_url}/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert httpx.get(f"{admin_url}/metrics").status_code == 404
    operators = f"http://127.0.0.1:{admin_metrics_port}"
    assert httpx.get(f"{operators}/readyz").json()["checks"] == {"database": "ok"}
    assert "taskflow_http_requests_total" in httpx.get(f"{operators}/metrics").text
    missing = httpx.get(f"{admin_url}/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_its_tables_live_in_the_admin_schema(admin_url: str, admin_database: str) -> None:
    with psycopg.connect(admin_database) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'admin'"
            )
        }
        public = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }
    assert {"taskflow_admin_auditentry", "auth_user", "django_migrations"} <= tables
    assert public == set()


def test_the_admin_api_needs_the_admin_realm_role(admin_url: str) -> None:
    realm = KeycloakRealm()
    admin = realm.create_user("admin", roles=("user", "admin"))
    user = realm.create_user("plain")
    api = f"{admin_url}/api/v1/admin/"

    assert httpx.get(api).status_code == 401
    forged = httpx.get(api, headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401
    refused = httpx.get(api, headers={"Authorization": f"Bearer {realm.access_token(user)}"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    allowed = httpx.get(api, headers={"Authorization": f"Bearer {realm.access_token(admin)}"})
    assert allowed.status_code == 200
    assert allowed.json()["caller"]["id"] == admin.id
    assert "admin" in allowed.json()["caller"]["roles"]


def test_the_admin_role_is_the_one_taskflow_admin_role_names(operators_admin_url: str) -> None:
    realm = KeycloakRealm()
    plain = realm.create_user("operator")  # realm role `user` only
    api = f"{operators_admin_url}/api/v1/admin/"

    allowed = httpx.get(api, headers={"Authorization": f"Bearer {realm.access_token(plain)}"})
    assert allowed.status_code == 200
    assert allowed.json()["caller"]["id"] == plain.id


def test_django_admin_sends_a_visitor_without_a_session_to_sign_in(admin_url: str) -> None:
    redirect = httpx.get(f"{admin_url}/admin/")
    assert redirect.status_code == 302
    assert redirect.headers["location"].startswith("/admin/login/")
    assert httpx.get(f"{admin_url}/static/admin/css/base.css").status_code == 200


@pytest.fixture(scope="module")
def gateway_in_front_of_admin(
    admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """The real gateway before admin: one that trusts this host as its TLS-ending proxy, one not."""
    logs = tmp_path_factory.mktemp("gateways")
    gateways = []
    for name, trusted in (("trusting", '["127.0.0.1/32"]'), ("untrusting", "[]")):
        gateways.append(
            serve_module(
                "taskflow_auth_gateway",
                free_port(),
                logs / f"{name}.log",
                TASKFLOW_ADMIN_URL=admin_url,
                TASKFLOW_RATE_LIMITER="off",
                TASKFLOW_TRUSTED_PROXIES=trusted,
            )
        )
    urls = [next(gateway) for gateway in gateways]
    yield urls[0], urls[1]
    for gateway in gateways:
        next(gateway, None)


def _logout_post_over_tls(gateway: str) -> httpx.Response:
    """An administrator signs in through the gateway, then sends the logout form (a POST that
    CSRF guards) as a browser at https://taskflow.example would (TLS ended in front of the
    gateway), with the browser's Origin."""
    administrator = KeycloakRealm().create_user("admin", roles=("user", "admin"))
    with browser() as client:
        index = sign_in(client, f"{gateway}/admin/", administrator)
        assert index.status_code == 200, index.text[:500]
        token = index.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        return client.post(
            f"{gateway}/admin/logout/",
            data={"csrfmiddlewaretoken": token},
            headers={
                "host": "taskflow.example",
                "x-forwarded-proto": "https",
                "origin": "https://taskflow.example",
                "referer": "https://taskflow.example/admin/",
            },
        )


def test_an_admin_form_passes_csrf_behind_tls_through_the_gateway(
    gateway_in_front_of_admin: tuple[str, str],
) -> None:
    trusting, _ = gateway_in_front_of_admin

    answer = _logout_post_over_tls(trusting)

    # Past CSRF: logged out, on the way to Keycloak's end-session endpoint.
    assert answer.status_code == 302, answer.text[:500]
    assert "/protocol/openid-connect/logout" in answer.headers["location"]


def test_a_tls_claim_from_an_untrusted_peer_is_not_believed(
    gateway_in_front_of_admin: tuple[str, str],
) -> None:
    _, untrusting = gateway_in_front_of_admin

    answer = _logout_post_over_tls(untrusting)

    # The gateway forwarded http, so the https Origin is a cross-origin POST to Django.
    assert answer.status_code == 403


def test_the_admin_css_answers_through_the_gateway(
    gateway_in_front_of_admin: tuple[str, str],
) -> None:
    gateway, _ = gateway_in_front_of_admin

    css = httpx.get(f"{gateway}/static/admin/css/base.css")
    missing = httpx.get(f"{gateway}/static/admin/css/no-such-file.css")

    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "max-age=" in css.headers["cache-control"]
    assert "body" in css.text
    assert missing.status_code == 404


def test_the_signed_in_admin_page_links_its_css_through_the_gateway(
    gateway_in_front_of_admin: tuple[str, str],
) -> None:
    gateway, _ = gateway_in_front_of_admin
    administrator = KeycloakRealm().create_user("admin", roles=("user", "admin"))
    with browser() as client:
        index = sign_in(client, f"{gateway}/admin/", administrator)
        stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', index.text)
        assert stylesheets, index.text[:500]
        for href in stylesheets:
            assert client.get(f"{gateway}{href}").status_code == 200, href
        # Django's own users and groups are not administered here: Keycloak's are.
        assert "/admin/auth/" not in index.text
        assert client.get(f"{gateway}/admin/auth/user/").status_code == 404


@pytest.fixture(scope="module")
def admin_behind_tls_url(
    admin_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An admin service told its cookies travel over TLS only (TASKFLOW_SECURE_COOKIES)."""
    yield from _serve_admin(
        admin_database,
        tmp_path_factory.mktemp("admin-tls") / "admin.log",
        TASKFLOW_SECURE_COOKIES="true",
    )


def _set_cookie(response: httpx.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert found, response.headers
    return found[0].lower()


def test_session_cookies_are_secure_when_behind_tls(
    admin_behind_tls_url: str, admin_url: str
) -> None:
    behind_tls = httpx.get(f"{admin_behind_tls_url}/admin/oidc/authenticate/?next=/admin/")
    plain_http = httpx.get(f"{admin_url}/admin/oidc/authenticate/?next=/admin/")

    cookie = _set_cookie(behind_tls, "sessionid")
    assert "; secure" in cookie
    assert "; httponly" in cookie
    assert "samesite=lax" in cookie
    # Development over http://127.0.0.1 (the default outside production): not Secure.
    assert "; secure" not in _set_cookie(plain_http, "sessionid")
