"""Through the gateway, every service its own process: a task change reaches its owner's
WebSocket within a second, and nobody else's."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import httpx
import pytest
import websockets

from taskflow_common.testing.suite import require_suite


@pytest.fixture(scope="module")
def gateway() -> str:
    return require_suite()


async def _user(client: httpx.AsyncClient) -> str:
    name = f"ws-{secrets.token_hex(4)}"
    password = f"Pw-{secrets.token_urlsafe(12)}"
    created = await client.post(
        "/auth/register",
        json={"username": name, "email": f"{name}@example.test", "password": password},
    )
    assert created.status_code == 201, created.text
    login = await client.post("/auth/login", json={"username": name, "password": password})
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


async def _changes(ws: Any, quiet_for: float) -> list[dict[str, Any]]:
    frames = []
    try:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), quiet_for))
            if frame["type"] == "task.changed":
                frames.append(frame)
    except TimeoutError:
        return frames


async def test_a_created_task_reaches_its_owner_within_a_second_and_nobody_else(
    gateway: str,
) -> None:
    ws_url = gateway.replace("http://", "ws://") + "/ws/notifications"
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        token_a, token_b = await _user(client), await _user(client)
        async with (
            websockets.connect(ws_url, subprotocols=["bearer", token_a]) as ws_a,
            websockets.connect(ws_url, subprotocols=["bearer", token_b]) as ws_b,
        ):
            assert ws_a.subprotocol == "bearer"
            started = time.perf_counter()
            created = await client.post(
                "/api/v1/tasks",
                json={"title": "Live, please"},
                headers={"authorization": f"Bearer {token_a}"},
            )
            assert created.status_code == 201, created.text
            frame = json.loads(await asyncio.wait_for(ws_a.recv(), 1.0))
            elapsed = time.perf_counter() - started
            assert frame["type"] == "task.changed"
            assert frame["change"] == "created"
            assert frame["task"]["id"] == created.json()["id"]
            assert elapsed < 1.0
            assert await _changes(ws_b, 1.0) == []


async def test_an_invalid_token_is_refused_at_the_upgrade_through_the_gateway(
    gateway: str,
) -> None:
    ws_url = gateway.replace("http://", "ws://") + "/ws/notifications"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(ws_url, subprotocols=["bearer", "forged.token.here"]):
            pass
