"""The admin service as a real process: its own schema, ops endpoints, role-guarded API.

It runs as a subprocess (one Django settings module per process), on a database created for
this test session and dropped after it, verifying real Keycloak tokens.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from support import free_port, serve_module

from taskflow_common.testing import KeycloakRealm, require_component
from taskflow_common.testing.stack import DATABASE_URL


@pytest.fixture(scope="module")
def admin_database() -> Iterator[str]:
    require_component("postgres")
    name = f"admin_test_{secrets.token_hex(4)}"
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _serve_admin(database: str, log: Path, **settings: str) -> Iterator[str]:
    """`python -m taskflow_admin serve` on a free port, with extra TASKFLOW_* settings."""
    require_component("keycloak")
    yield from serve_module(
        "taskflow_admin", free_port(), log, TASKFLOW_DATABASE_URL=database, **settings
    )


@pytest.fixture(scope="module")
def admin_url(admin_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _serve_admin(admin_database, tmp_path_factory.mktemp("admin") / "admin.log")


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


def test_ops_endpoints_and_problem_errors(admin_url: str) -> None:
    assert httpx.get(f"{admin_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{admin_url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}
    assert "taskflow_http_requests_total" in httpx.get(f"{admin_url}/metrics").text
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


def test_django_admin_is_served_with_its_login_page(admin_url: str) -> None:
    redirect = httpx.get(f"{admin_url}/admin/")
    assert redirect.status_code == 302
    assert redirect.headers["location"].startswith("/admin/login/")
    login = httpx.get(f"{admin_url}/admin/login/")
    assert login.status_code == 200
    assert "csrfmiddlewaretoken" in login.text
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


def _login_post_over_tls(gateway: str) -> httpx.Response:
    """The admin login form as a browser sends it to https://taskflow.example (TLS ended in
    front of the gateway): the login page, then the form POST with the browser's Origin."""
    tls = {"host": "taskflow.example", "x-forwarded-proto": "https"}
    with httpx.Client(base_url=gateway, headers=tls) as browser:
        page = browser.get("/admin/login/")
        assert page.status_code == 200, page.text
        token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        return browser.post(
            "/admin/login/?next=/admin/",
            data={"csrfmiddlewaretoken": token, "username": "nobody", "password": "wrong-one"},
            headers={
                "origin": "https://taskflow.example",
                "referer": "https://taskflow.example/admin/login/",
            },
        )


def test_the_admin_login_form_passes_csrf_behind_tls_through_the_gateway(
    gateway_in_front_of_admin: tuple[str, str],
) -> None:
    trusting, _ = gateway_in_front_of_admin

    answer = _login_post_over_tls(trusting)

    # Past CSRF, to the credentials check (no such user: the form again, with its error).
    assert answer.status_code == 200, answer.text[:500]
    assert "Please enter the correct username and password" in answer.text


def test_a_tls_claim_from_an_untrusted_peer_is_not_believed(
    gateway_in_front_of_admin: tuple[str, str],
) -> None:
    _, untrusting = gateway_in_front_of_admin

    answer = _login_post_over_tls(untrusting)

    # The gateway forwarded http, so the https Origin is a cross-origin POST to Django.
    assert answer.status_code == 403
