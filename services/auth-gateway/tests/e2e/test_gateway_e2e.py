"""The whole suite as separate processes, driven only through the gateway on :8080."""

import secrets
import time

import httpx
import pytest
from openapi_spec_validator import validate

from taskflow_common.testing.suite import require_suite


@pytest.fixture(scope="module")
def gateway() -> str:
    return require_suite()


def test_register_login_me_tasks_refresh_logout_refresh_refused(gateway: str) -> None:
    name = f"e2e-{secrets.token_hex(4)}"
    user = {"username": name, "email": f"{name}@example.test", "password": f"Pw-{name[::-1]}"}
    with httpx.Client(base_url=gateway, timeout=30) as client:
        created = client.post("/auth/register", json=user)
        assert created.status_code == 201, created.text

        login = client.post("/auth/login", json={"username": name, "password": user["password"]})
        assert login.status_code == 200, login.text
        tokens = login.json()
        bearer = {"authorization": f"Bearer {tokens['access_token']}"}

        me = client.get("/auth/me", headers=bearer)
        assert me.status_code == 200
        assert me.json()["id"] == created.json()["id"]

        tasks = client.get("/api/v1/tasks", headers=bearer)
        assert tasks.status_code == 200, tasks.text
        assert tasks.headers["x-request-id"]
        task = client.post("/api/v1/tasks", headers=bearer, json={"title": "Through the gateway"})
        assert task.status_code == 201, task.text
        fetched = client.get(f"/api/v1/tasks/{task.json()['id']}", headers=bearer)
        assert fetched.status_code == 200
        assert client.get("/api/v1/tasks").status_code == 401

        refreshed = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200
        refresh_token = refreshed.json()["refresh_token"]
        assert client.post("/auth/logout", json={"refresh_token": refresh_token}).status_code == 204
        refused = client.post("/auth/refresh", json={"refresh_token": refresh_token})
        assert refused.status_code == 401


def test_the_gateway_and_every_service_report_ready(gateway: str) -> None:
    # Other suites briefly stop a stack component (RabbitMQ restarts): allow time to recover.
    deadline = time.monotonic() + 60
    while True:
        statuses = {"gateway": httpx.get(f"{gateway}/readyz", timeout=10).status_code}
        for service in ("tasks", "suggest", "notify", "admin"):
            statuses[service] = httpx.get(f"{gateway}/readyz/{service}", timeout=10).status_code
        if set(statuses.values()) == {200} or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert set(statuses.values()) == {200}, statuses


def test_one_valid_openapi_document_for_the_whole_suite(gateway: str) -> None:
    spec = httpx.get(f"{gateway}/openapi.json", timeout=10).json()
    validate(spec)
    assert "/auth/login" in spec["paths"]
    assert any(path.startswith("/api/v1/tasks") for path in spec["paths"])


async def test_a_task_change_is_pushed_through_the_gateway_websocket(gateway: str) -> None:
    import asyncio
    import json

    import websockets

    from taskflow_common.testing import KeycloakRealm

    realm = KeycloakRealm()
    token = realm.access_token(realm.create_user("gw-ws"))
    ws_url = gateway.replace("http", "ws") + "/ws/notifications"
    async with websockets.connect(ws_url, subprotocols=["bearer", token]) as ws:
        assert ws.subprotocol == "bearer"
        async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
            created = await client.post(
                "/api/v1/tasks",
                headers={"authorization": f"Bearer {token}"},
                json={"title": "pushed through the gateway"},
            )
        assert created.status_code == 201, created.text
        # Outbox relay -> RabbitMQ -> notify consumer -> channel layer -> this socket.
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
    assert frame["task"]["id"] == created.json()["id"]
