"""The security suite runs against the distributed suite (`scripts/suite restart`), with two real
Keycloak users: A owns data, B must never see it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from taskflow_common.testing import KeycloakRealm
from taskflow_common.testing.suite import require_suite


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.security)


@dataclass(frozen=True)
class Caller:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
def gateway() -> str:
    return require_suite()


@pytest.fixture(scope="session")
def realm(gateway: str) -> KeycloakRealm:
    return KeycloakRealm()


def _caller(realm: KeycloakRealm, prefix: str) -> Caller:
    user = realm.create_user(f"{prefix}{secrets.token_hex(2)}")
    return Caller(id=user.id, token=realm.access_token(user))


@pytest.fixture(scope="session")
def alice(realm: KeycloakRealm) -> Caller:
    return _caller(realm, "seca")


@pytest.fixture(scope="session")
def bob(realm: KeycloakRealm) -> Caller:
    return _caller(realm, "secb")


@pytest.fixture(scope="session")
def openapi(gateway: str) -> dict:
    document = httpx.get(f"{gateway}/openapi.json", timeout=10).json()
    missing = document["info"].get("x-taskflow-missing-services")
    assert not missing, f"the merged description lacks services: {missing}"
    return document
