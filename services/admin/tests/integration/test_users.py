"""Users from the real Keycloak's admin API: listed and searched, enabled and disabled, sent a
password-reset email that arrives in the real Mailpit, made and unmade administrators; each
action audited with before and after, the actor being the signed-in administrator."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from console_support import signed_in_client

from taskflow_common.testing import KeycloakRealm, TestUser, require_component

pytestmark = pytest.mark.integration
MAILPIT_API = "http://127.0.0.1:8025/api/v1"


@pytest.fixture(scope="module")
def realm() -> KeycloakRealm:
    return KeycloakRealm()


@pytest.fixture(scope="module")
def admin(realm: KeycloakRealm) -> TestUser:
    return realm.create_user("console-admin", roles=("user", "admin"))


@pytest.fixture
def console(admin_django: Any, realm: KeycloakRealm, admin: TestUser) -> Any:
    return signed_in_client(realm, admin)


def _entries(target_id: str) -> list[Any]:
    from taskflow_admin.models import AuditEntry

    return list(AuditEntry.objects.filter(target_id=target_id).order_by("occurred_at"))


def _act(console: Any, user: TestUser, action: str) -> Any:
    answer = console.post(
        f"/admin/users/{user.id}/action/", {"action": action, "next": "/admin/users/"}
    )
    assert answer.status_code == 302, answer.content[:500]
    assert answer["location"] == "/admin/users/"
    return answer


def test_the_user_list_searches_keycloak(console: Any, realm: KeycloakRealm) -> None:
    member = realm.create_user("findme")

    page = console.get("/admin/users/", {"q": member.username})

    assert page.status_code == 200
    text = page.content.decode()
    assert member.username in text
    assert member.email in text
    assert "1 user" in text


def test_disable_then_enable_is_done_in_keycloak_and_audited(
    console: Any, realm: KeycloakRealm, admin: TestUser
) -> None:
    from taskflow_admin.container import container

    member = realm.create_user("switch")

    _act(console, member, "disable")
    assert container().directory.get(member.id).enabled is False
    with pytest.raises(httpx.HTTPStatusError):
        realm.login(member)  # a disabled user cannot sign in
    _act(console, member, "enable")
    assert container().directory.get(member.id).enabled is True

    disable, enable = _entries(member.id)
    assert (disable.action, enable.action) == ("user.disable", "user.enable")
    assert (disable.actor_id, disable.actor_username) == (admin.id, admin.username)
    assert disable.before["enabled"] is True
    assert disable.after["enabled"] is False
    assert enable.after["enabled"] is True


def test_grant_and_revoke_admin_change_the_realm_role(console: Any, realm: KeycloakRealm) -> None:
    from taskflow_admin.identity.tokens import admin_principal

    member = realm.create_user("promoted")

    _act(console, member, "grant_admin")
    assert "admin" in admin_principal(realm.access_token(member)).roles
    listed = console.get("/admin/users/", {"q": member.username}).content.decode()
    assert "Revoke admin" in listed
    _act(console, member, "revoke_admin")
    assert "admin" not in admin_principal(realm.access_token(member)).roles

    grant, revoke = _entries(member.id)
    assert (grant.before["is_admin"], grant.after["is_admin"]) == (False, True)
    assert (revoke.action, revoke.after["is_admin"]) == ("user.revoke_admin", False)


def _messages_to(address: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{MAILPIT_API}/search", params={"query": f'to:"{address}"'}, timeout=10)
    answer.raise_for_status()
    return list(answer.json().get("messages") or [])


def test_a_password_reset_email_reaches_the_user_through_mailpit(
    console: Any, realm: KeycloakRealm
) -> None:
    require_component("mailpit")
    member = realm.create_user("forgetful")

    _act(console, member, "reset_password")

    deadline = time.monotonic() + 30
    while not (mail := _messages_to(member.email)):
        assert time.monotonic() < deadline, f"no email to {member.email} reached Mailpit"
        time.sleep(0.5)
    message = httpx.get(f"{MAILPIT_API}/message/{mail[0]['ID']}", timeout=10).json()
    assert message["From"]["Address"] == "taskflow@taskflow.local"  # the realm's SMTP settings
    assert "requested that you update your TaskFlow account" in message["Text"]
    assert "/login-actions/action-token?key=" in message["HTML"]  # the link to set a password
    (entry,) = _entries(member.id)
    assert entry.action == "user.reset_password"


def test_an_unknown_user_is_a_404_page(console: Any) -> None:
    assert console.get("/admin/users/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_the_console_needs_a_signed_in_administrator(admin_django: Any) -> None:
    from django.test import Client

    answer = Client().get("/admin/users/")

    assert answer.status_code == 302
    assert answer["location"].startswith("/admin/login/")


def test_the_users_api_pages_keycloak_users_for_administrators_only(
    admin_django: Any, realm: KeycloakRealm, admin: TestUser
) -> None:
    from django.test import Client

    prefix = f"paged-{int(time.time() * 1000)}"
    created = {realm.create_user(prefix).username for _ in range(3)}
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {realm.access_token(admin)}"}

    seen: list[dict[str, Any]] = []
    cursor: dict[str, str] = {}
    while True:
        page = Client().get("/api/v1/admin/users", {"q": prefix, "limit": 2, **cursor}, **bearer)
        assert page.status_code == 200, page.content
        body = page.json()
        assert body["total"] == 3
        seen += body["data"]
        if body["next_cursor"] is None:
            break
        cursor = {"cursor": body["next_cursor"]}

    assert {u["username"] for u in seen} == created
    assert all(u["enabled"] and not u["is_admin"] for u in seen)
    plain = {"HTTP_AUTHORIZATION": f"Bearer {realm.access_token(realm.create_user('nosy'))}"}
    assert Client().get("/api/v1/admin/users", **plain).status_code == 403
    bad = Client().get("/api/v1/admin/users", {"cursor": "zzz"}, **bearer)
    assert bad.status_code == 400
