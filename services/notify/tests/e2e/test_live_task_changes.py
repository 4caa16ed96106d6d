"""Through the gateway, every service its own process: a task change reaches its owner's
WebSocket within a second, and nobody else's; a client that follows the sync-token protocol
sees every created task exactly once, in order, while Redis (the channel layer) is stopped for
10 s mid-stream, and when its own socket is dropped mid-stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from taskflow_common.testing.suite import require_suite

REPO = Path(__file__).resolve().parents[4]
RATE_PER_SECOND = 20


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


class SyncingClient:
    """What the SDK does: keep the newest sync token, reconnect with `?since=` on any close."""

    def __init__(self, ws_url: str, token: str) -> None:
        self.ws_url, self.token = ws_url, token
        self.sync_token: str | None = None
        self.positions: list[int] = []
        self.created: list[str] = []  # task ids from `created` frames, in the order seen
        self.connections = 0
        self.resyncs = 0
        self.socket: Any = None
        self.connected = asyncio.Event()

    async def run(self) -> None:
        while True:
            query = f"?since={self.sync_token}" if self.sync_token else ""
            try:
                async with websockets.connect(
                    self.ws_url + query, subprotocols=["bearer", self.token], open_timeout=5
                ) as ws:
                    self.socket = ws
                    self.connections += 1
                    self.connected.set()
                    async for raw in ws:
                        self._take(json.loads(raw))
            except (OSError, websockets.exceptions.WebSocketException, TimeoutError):
                pass
            self.socket = None
            await asyncio.sleep(0.3)

    def _take(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "resync":
            self.resyncs += 1
        if "pos" in frame:
            self.positions.append(frame["pos"])
        if frame.get("sync_token"):
            self.sync_token = frame["sync_token"]
        if frame["type"] == "task.changed" and frame["change"] == "created":
            self.created.append(frame["task"]["id"])


async def _write(client: httpx.AsyncClient, token: str, seconds: float) -> list[str]:
    ids: list[str] = []
    headers = {"authorization": f"Bearer {token}"}
    for i in range(int(seconds * RATE_PER_SECOND)):
        answer = await client.post("/api/v1/tasks", json={"title": f"n{i}"}, headers=headers)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
        await asyncio.sleep(1 / RATE_PER_SECOND)
    return ids


def _stack(action: str, component: str) -> None:
    subprocess.run([str(REPO / "scripts" / "stack"), action, component], check=True, timeout=120)


async def _follow_while(gateway: str, fault: Any) -> SyncingClient:
    ws_url = gateway.replace("http://", "ws://") + "/ws/notifications"
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        token = await _user(client)
        follower = SyncingClient(ws_url, token)
        task = asyncio.create_task(follower.run())
        try:
            await asyncio.wait_for(follower.connected.wait(), 10)
            writing = asyncio.create_task(_write(client, token, 16))
            await fault(follower)
            ids = await writing
            for _ in range(300):  # the feed catches the client up once the fault is over
                if len(follower.created) >= len(ids):
                    break
                await asyncio.sleep(0.1)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    missing = set(ids) - set(follower.created)
    duplicated = len(follower.created) - len(set(follower.created))
    print(
        f"created {len(ids)}, seen {len(follower.created)}, missing {len(missing)}, "
        f"duplicated {duplicated}, connections {follower.connections}"
    )
    assert not missing
    assert duplicated == 0
    assert follower.created == ids  # in order
    assert follower.positions == list(range(1, len(follower.positions) + 1))
    assert follower.resyncs == 0
    return follower


async def test_nothing_is_missed_while_redis_is_stopped_for_ten_seconds(gateway: str) -> None:
    async def redis_outage(_: SyncingClient) -> None:
        await asyncio.sleep(3)
        await asyncio.to_thread(_stack, "down", "redis")
        try:
            await asyncio.sleep(10)
        finally:
            await asyncio.to_thread(_stack, "up", "redis")

    await _follow_while(gateway, redis_outage)


async def test_nothing_is_missed_when_the_clients_socket_is_dropped(gateway: str) -> None:
    async def drop_socket(follower: SyncingClient) -> None:
        for _ in range(2):
            await asyncio.sleep(4)
            if follower.socket is not None:
                await follower.socket.close()

    follower = await _follow_while(gateway, drop_socket)
    assert follower.connections >= 3
