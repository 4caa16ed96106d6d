"""/ws/notifications against the real ASGI app and the Redis pub/sub channel layer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from taskflow_notify.event_consumer import make_event_handler


async def _until(ws: Any, predicate: Any, within: float = 5.0) -> dict[str, Any]:
    async def loop() -> dict[str, Any]:
        while True:
            frame = json.loads(await ws.recv())
            if predicate(frame):
                return frame

    return await asyncio.wait_for(loop(), within)


async def test_task_changes_reach_only_the_people_who_can_see_them(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    handler = make_event_handler()
    alice, bob, carol = nh.new_user_id(), nh.new_user_id(), nh.new_user_id()
    project = nh.new_user_id()
    await handler(nh.project_created(carol, project))
    await handler(nh.member_added(carol, project, alice))
    async with (
        nh.ws_connect(notify_server, notify_test_issuer.token(alice)) as ws_a,
        nh.ws_connect(notify_server, notify_test_issuer.token(bob)) as ws_b,
        nh.ws_connect(notify_server, notify_test_issuer.token(carol)) as ws_c,
    ):
        assert ws_a.subprotocol == "bearer"
        own = nh.task_created(alice)
        shared = nh.task_created(carol, project_id=project)
        await handler(own)
        await handler(shared)

        seen_by_a = await nh.ws_frames(ws_a, 1.0)
        assert [(f["type"], f["change"], f["task"]["id"]) for f in seen_by_a] == [
            ("task.changed", "created", own.data["task"]["id"]),
            ("task.changed", "created", shared.data["task"]["id"]),
        ]
        seen_by_c = await nh.ws_frames(ws_c, 0.3)
        assert [f["task"]["id"] for f in seen_by_c] == [shared.data["task"]["id"]]
        assert await nh.ws_frames(ws_b, 0.3) == []  # Bob sees neither task


async def test_reconnect_with_since_replays_exactly_what_was_missed_in_order(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    handler = make_event_handler()
    owner, user = nh.new_user_id(), nh.new_user_id()
    token = notify_test_issuer.token(user)
    async with nh.ws_connect(notify_server, token) as ws:
        await handler(nh.task_assigned(owner, user, title="before the outage"))
        first = await _until(ws, lambda f: f["type"] == "notification")
    assert first["title"] == '"before the outage" was assigned to you'

    missed = [nh.task_assigned(owner, user, title=f"missed {i}") for i in range(3)]
    for envelope in missed:
        await handler(envelope)

    async with nh.ws_connect(notify_server, token, f"?since={first['cursor']}") as ws:
        replayed = await nh.ws_frames(ws, 1.0)
    assert [f["type"] for f in replayed] == ["notification"] * 3 + ["replay.done"]
    assert [f["title"] for f in replayed[:3]] == [
        f'"missed {i}" was assigned to you' for i in range(3)
    ]
    assert [f["event_id"] for f in replayed[:3]] == [str(e.event_id) for e in missed]


async def test_replay_then_live_without_duplicates(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    handler = make_event_handler()
    owner, user = nh.new_user_id(), nh.new_user_id()
    await handler(nh.task_assigned(owner, user, title="old"))
    async with nh.ws_connect(notify_server, notify_test_issuer.token(user), "?since=bjE6MA") as ws:
        await _until(ws, lambda f: f["type"] == "replay.done")
        await handler(nh.task_assigned(owner, user, title="live"))
        live = await nh.ws_frames(ws, 1.0)
    assert [f.get("title") for f in live] == ['"live" was assigned to you']


async def test_access_token_query_parameter_and_heartbeat(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    token = notify_test_issuer.token(nh.new_user_id())
    async with websockets.connect(
        f"ws://{notify_server}/ws/notifications?access_token={token}"
    ) as ws:
        assert ws.subprotocol is None
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 3))["type"] == "pong"


@pytest.mark.parametrize("how", ["garbage", "wrong-key", "expired", "missing"])
async def test_invalid_tokens_are_refused_at_the_upgrade(
    notify_server: str, notify_test_issuer: Any, nh: Any, how: str
) -> None:
    tokens = {
        "garbage": "not-a-jwt",
        "wrong-key": nh.TestIssuer().token(nh.new_user_id()),
        "expired": notify_test_issuer.token(nh.new_user_id(), lifetime=-120),
    }
    protocols = ["bearer", tokens[how]] if how in tokens else None
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(
            f"ws://{notify_server}/ws/notifications", subprotocols=protocols
        ):
            pass
    assert refused.value.response.status_code in {401, 403}


async def test_token_expiry_closes_with_4401(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    # The verifier allows 10 s of leeway; a token with 1 s left is valid now, expired soon.
    token = notify_test_issuer.token(nh.new_user_id(), lifetime=1)
    async with nh.ws_connect(notify_server, token) as ws:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await nh.ws_frames(ws, 10.0)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_metrics_count_connections_and_deliveries(
    notify_server: str, notify_metrics_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    handler = make_event_handler()
    user = nh.new_user_id()
    async with nh.ws_connect(notify_server, notify_test_issuer.token(user)) as ws:
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://{notify_metrics_server}/metrics")).text
        gauge = [
            line
            for line in text.splitlines()
            if line.startswith("taskflow_notify_websocket_connections ")
        ]
        assert gauge
        assert float(gauge[0].split()[1]) >= 1
        await handler(nh.task_created(user))
        await _until(ws, lambda f: f["type"] == "task.changed")
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://{notify_metrics_server}/metrics")).text
    assert 'taskflow_notify_deliveries_total{channel="websocket",outcome="sent"}' in text
    assert 'taskflow_notify_event_to_delivery_seconds_bucket{channel="websocket"' in text


async def test_an_idle_connection_still_hears_after_redis_read_timeouts(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    # redis-py's default 5 s read timeout used to kill quiet pub/sub subscribers
    # (channels_redis issue 422); the layer is configured with socket_timeout=None.
    user = nh.new_user_id()
    async with nh.ws_connect(notify_server, notify_test_issuer.token(user)) as ws:
        await asyncio.sleep(7)
        await make_event_handler()(nh.task_created(user))
        frame = await _until(ws, lambda f: f["type"] == "task.changed")
    assert frame["task"]["owner_id"] == user


async def test_a_burst_reaches_every_connection_complete_and_in_order(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    from channels.layers import get_channel_layer

    from taskflow_notify.feed import FeedPush, positioned
    from taskflow_notify.pushes import push_outcome
    from taskflow_notify.services import IngestOutcome

    user = nh.new_user_id()
    layer = get_channel_layer()
    token = notify_test_issuer.token(user)
    burst = 1000
    conns = [nh.ws_connect(notify_server, token) for _ in range(5)]
    sockets = [await c.__aenter__() for c in conns]
    try:
        for version in range(1, burst + 1):
            task = {"id": "t", "owner_id": user, "version": version}
            frame = positioned({"type": "task.changed", "change": "updated", "task": task}, version)
            await push_outcome(layer, IngestOutcome(None, [FeedPush(user, version, frame)]))
        for ws in sockets:
            versions = [f["task"]["version"] for f in await nh.ws_frames(ws, 2.0)]
            assert versions == list(range(1, burst + 1))  # none dropped, none reordered
    finally:
        for c in conns:
            await c.__aexit__(None, None, None)
