"""The realm as code gives the admin service what its console needs from Keycloak, no more."""

from __future__ import annotations

import json
from pathlib import Path

REALM = Path(__file__).resolve().parents[4] / "deploy" / "keycloak" / "taskflow-realm.json"


def test_the_admin_client_service_account_holds_only_the_user_management_roles() -> None:
    """view-realm: Keycloak lets only it read a realm role and its members (who is admin)."""
    realm = json.loads(REALM.read_text())
    client = next(c for c in realm["clients"] if c["clientId"] == "taskflow-admin")
    account = next(u for u in realm["users"] if u.get("serviceAccountClientId") == "taskflow-admin")

    assert client["serviceAccountsEnabled"] is True
    assert account.get("realmRoles", []) == []
    assert account["clientRoles"] == {
        "realm-management": ["view-users", "query-users", "manage-users", "view-realm"]
    }


def test_the_realm_sends_its_email_through_the_local_mailpit() -> None:
    smtp = json.loads(REALM.read_text())["smtpServer"]

    assert (smtp["host"], smtp["port"]) == ("127.0.0.1", "1025")
    assert smtp["from"]
