"""Real users and real tokens from the stack's Keycloak, for integration and e2e tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from taskflow_common.testing.stack import KEYCLOAK_URL, require_component

REALM = "taskflow"
GATEWAY_CLIENT_ID = "taskflow-gateway"
GATEWAY_CLIENT_SECRET = "taskflow-gateway-dev-secret"  # the realm's development default
API_CLIENT_ID = "taskflow-api"


@dataclass(frozen=True)
class TestUser:
    __test__ = False  # not a pytest test class

    id: str
    username: str
    email: str
    password: str


class KeycloakRealm:
    """Creates users through the admin API (the gateway's service account) and logs them in."""

    def __init__(self, base_url: str = KEYCLOAK_URL, realm: str = REALM) -> None:
        require_component("keycloak")
        self.base_url = base_url.rstrip("/")
        self.realm = realm
        self.issuer = f"{self.base_url}/realms/{realm}"
        self._http = httpx.Client(timeout=30.0)

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    def service_token(self) -> str:
        response = self._http.post(
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": GATEWAY_CLIENT_ID,
                "client_secret": GATEWAY_CLIENT_SECRET,
            },
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def create_user(self, prefix: str = "user", roles: tuple[str, ...] = ("user",)) -> TestUser:
        suffix = secrets.token_hex(4)
        username = f"{prefix}-{suffix}"
        password = f"Pw-{secrets.token_urlsafe(12)}"
        email = f"{username}@example.test"
        admin = f"{self.base_url}/admin/realms/{self.realm}"
        headers = {"Authorization": f"Bearer {self.service_token()}"}
        response = self._http.post(
            f"{admin}/users",
            headers=headers,
            json={
                "username": username,
                "email": email,
                "emailVerified": True,
                "enabled": True,
                "firstName": prefix.title(),
                "lastName": "Test",
                "credentials": [{"type": "password", "value": password, "temporary": False}],
            },
        )
        response.raise_for_status()
        user_id = response.headers["Location"].rsplit("/", 1)[-1]
        for role in roles:
            role_repr = self._http.get(f"{admin}/roles/{role}", headers=headers)
            role_repr.raise_for_status()
            assigned = self._http.post(
                f"{admin}/users/{user_id}/role-mappings/realm",
                headers=headers,
                json=[role_repr.json()],
            )
            assigned.raise_for_status()
        return TestUser(id=user_id, username=username, email=email, password=password)

    def revoke_role(self, user: TestUser, role: str) -> None:
        admin = f"{self.base_url}/admin/realms/{self.realm}"
        headers = {"Authorization": f"Bearer {self.service_token()}"}
        role_repr = self._http.get(f"{admin}/roles/{role}", headers=headers)
        role_repr.raise_for_status()
        removed = self._http.request(
            "DELETE",
            f"{admin}/users/{user.id}/role-mappings/realm",
            headers=headers,
            json=[role_repr.json()],
        )
        removed.raise_for_status()

    def end_sessions(self, user: TestUser) -> None:
        """Sign the user out of every Keycloak session (their refresh tokens stop working)."""
        admin = f"{self.base_url}/admin/realms/{self.realm}"
        headers = {"Authorization": f"Bearer {self.service_token()}"}
        self._http.post(f"{admin}/users/{user.id}/logout", headers=headers).raise_for_status()

    def login(self, user: TestUser, scope: str = "openid") -> dict[str, Any]:
        """Password grant through the gateway client: access, refresh and ID tokens."""
        response = self._http.post(
            self.token_url,
            data={
                "grant_type": "password",
                "client_id": GATEWAY_CLIENT_ID,
                "client_secret": GATEWAY_CLIENT_SECRET,
                "username": user.username,
                "password": user.password,
                "scope": scope,
            },
        )
        response.raise_for_status()
        tokens: dict[str, Any] = response.json()
        return tokens

    def access_token(self, user: TestUser) -> str:
        return str(self.login(user)["access_token"])
