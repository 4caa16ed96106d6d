"""e2e fixtures: the distributed suite behind the gateway, and two real Keycloak users."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from taskflow_common.testing import KeycloakRealm
from taskflow_common.testing.suite import require_suite


@dataclass
class GatewayUser:
    """A real Keycloak user talking to the gateway with their own access token."""

    id: str
    http: httpx.Client

    def create_task(self, **body: Any) -> dict[str, Any]:
        response = self.http.post("/api/v1/tasks", json={"title": "e2e task", **body})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@pytest.fixture(scope="module")
def tasks_gateway_url() -> str:
    return require_suite()


@pytest.fixture(scope="module")
def tasks_realm() -> KeycloakRealm:
    return KeycloakRealm()


def _user(realm: KeycloakRealm, base_url: str, prefix: str) -> Iterator[GatewayUser]:
    user = realm.create_user(prefix)
    token = realm.access_token(user)
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0
    ) as http:
        yield GatewayUser(user.id, http)


@pytest.fixture(scope="module")
def alice(tasks_realm: KeycloakRealm, tasks_gateway_url: str) -> Iterator[GatewayUser]:
    yield from _user(tasks_realm, tasks_gateway_url, "tasks-alice")


@pytest.fixture(scope="module")
def bob(tasks_realm: KeycloakRealm, tasks_gateway_url: str) -> Iterator[GatewayUser]:
    yield from _user(tasks_realm, tasks_gateway_url, "tasks-bob")
