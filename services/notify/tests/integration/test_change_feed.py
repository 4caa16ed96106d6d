"""The change feed on the real stack (Postgres, the Redis pub/sub layer, the ASGI app):
positions, sync tokens, replay, gap filling, redelivery, retention, access changes."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.utils import timezone

from taskflow_common.events.contracts.tasks import (
    ProjectMemberRemovedV1,
    TaskCreatedV1,
    TaskUpdatedV1,
)
from taskflow_notify import feed, services
from taskflow_notify.container import container
from taskflow_notify.event_consumer import make_event_handler
from taskflow_notify.pushes import LivePublishError, push_outcome


@sync_to_async
def _store_only(envelope: Any) -> services.IngestOutcome:
    """Ingest as the consumer does, but publish nothing: the live frames are lost."""
    return services.event_ingest(envelope=envelope, enqueue=lambda channel, delivery_id: None)


def _api(server: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://{server}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


async def test_every_change_gets_the_next_position_and_a_token_replays_what_followed_it(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    handler = make_event_handler()
    user = nh.new_user_id()
    token = notify_test_issuer.token(user)
    events = [nh.task_created(user, title=f"task {i}") for i in range(6)]
    async with nh.ws_connect(notify_server, token) as ws:
        for e in events[:3]:
            await handler(e)
        live = await nh.ws_frames(ws, 1.0)
    assert [f["pos"] for f in live] == [1, 2, 3]
    assert [f["task"]["title"] for f in live] == ["task 0", "task 1", "task 2"]
    resume_from = live[-1]["sync_token"]

    for e in events[3:]:  # while the client is away
        await handler(e)
    async with nh.ws_connect(notify_server, token, f"?since={resume_from}") as ws:
        replayed = await nh.ws_frames(ws, 1.0)
    assert [(f["type"], f.get("pos")) for f in replayed] == [
        ("task.changed", 4),
        ("task.changed", 5),
        ("task.changed", 6),
        ("replay.done", None),
    ]
    assert [f["task"]["title"] for f in replayed[:3]] == ["task 3", "task 4", "task 5"]
    assert replayed[-1]["sync_token"] == replayed[2]["sync_token"]

    async with _api(notify_server, token) as api:
        first = (await api.get("/api/v1/notifications/changes", params={"limit": 4})).json()
        assert first["data"] == []  # without `since`: where to start, nothing to catch up
        start = (await api.get("/api/v1/notifications/changes")).json()["sync_token"]
        assert start == replayed[-1]["sync_token"]
        page1 = (
            await api.get(
                "/api/v1/notifications/changes", params={"since": resume_from, "limit": 2}
            )
        ).json()
        assert [f["pos"] for f in page1["data"]] == [4, 5]
        assert page1["has_more"] is True
        page2 = (
            await api.get(
                "/api/v1/notifications/changes", params={"since": page1["sync_token"], "limit": 2}
            )
        ).json()
        assert [f["pos"] for f in page2["data"]] == [6]
        assert page2["has_more"] is False


async def test_frames_lost_by_the_channel_layer_are_filled_in_order_from_the_feed(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    handler = make_event_handler()
    user = nh.new_user_id()
    async with nh.ws_connect(notify_server, notify_test_issuer.token(user)) as ws:
        await handler(nh.task_created(user, title="a"))
        for title in ("b", "c"):  # stored, but their live frames never reach the layer
            await _store_only(nh.task_created(user, title=title))
        await handler(nh.task_created(user, title="d"))
        seen = await nh.ws_frames(ws, 1.0)
    assert [(f["pos"], f["task"]["title"]) for f in seen] == [
        (1, "a"),
        (2, "b"),
        (3, "c"),
        (4, "d"),
    ]


async def test_the_heartbeat_fills_a_gap_at_the_end_of_a_burst(
    notify_server: str, notify_test_issuer: Any, nh: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container().settings, "ws_heartbeat_seconds", 0.5)
    user = nh.new_user_id()
    async with nh.ws_connect(notify_server, notify_test_issuer.token(user)) as ws:
        for title in ("x", "y"):
            await _store_only(nh.task_created(user, title=title))
        seen = await nh.ws_frames(ws, 2.0)
        ping = json.loads(await asyncio.wait_for(ws.recv(), 5.0))
    assert [(f["pos"], f["task"]["title"]) for f in seen] == [(1, "x"), (2, "y")]
    assert ping["type"] == "ping"
    assert ping["sync_token"] == seen[-1]["sync_token"]


async def test_a_redelivered_event_is_stored_once_and_reaches_the_client_once(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    handler = make_event_handler()
    owner, assignee = nh.new_user_id(), nh.new_user_id()
    # A task created with an assignee: `created` (a task change) then `assigned` (news).
    created = nh.task_created(owner, assignee_id=assignee)
    assigned = nh.task_assigned(owner, assignee, id=created.data["task"]["id"])
    async with nh.ws_connect(notify_server, notify_test_issuer.token(assignee)) as ws:
        firsts = [await _store_only(e) for e in (created, assigned)]
        for event in (created, assigned, created, assigned):
            await handler(event)  # redelivered (e.g. the first publish failed): published again
        seen = await nh.ws_frames(ws, 1.0)
    seconds = [await _store_only(e) for e in (created, assigned)]
    assert [[(p.user_id, p.position) for p in o.pushes] for o in firsts] == [
        [(p.user_id, p.position) for p in o.pushes] for o in seconds
    ]
    assert [(f["type"], f["pos"]) for f in seen] == [("task.changed", 1), ("notification", 2)]
    assert await sync_to_async(feed.feed_head)(user_id=assignee) == 2


async def test_a_task_update_costs_one_statement_and_a_stale_one_stores_nothing(
    notify_django: Any, nh: Any
) -> None:
    """The version check is part of the feed append (ADR 0303, "Cost"): one statement."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner = nh.new_user_id()
    task = nh.task_snapshot(owner, title="v3")

    def renamed(version: int) -> Any:
        data = TaskUpdatedV1(
            task=task.model_copy(update={"version": version, "title": f"v{version}"}),
            changed_fields=["title"],
            changes={"title": ["before", f"v{version}"]},
        )
        return nh.envelope(data, owner)

    @sync_to_async
    def ingest_counting(envelope: Any) -> tuple[services.IngestOutcome, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            outcome = services.event_ingest(envelope=envelope, enqueue=lambda *_: None)
        return outcome, [q["sql"].split()[0] for q in queries]

    newer, statements = await ingest_counting(renamed(3))
    assert statements == ["BEGIN", "WITH", "COMMIT"]
    assert [p.frame["task"]["title"] for p in newer.pushes] == ["v3"]
    stale, _ = await ingest_counting(renamed(2))  # arrives late: older than what was sent
    assert stale.pushes == []
    assert await sync_to_async(feed.feed_head)(user_id=owner) == 1


async def test_an_unreachable_channel_layer_fails_the_event_so_the_bus_retries_it(
    notify_django: Any, nh: Any
) -> None:
    user = nh.new_user_id()
    outcome = await _store_only(nh.task_created(user))
    dead = RedisPubSubChannelLayer(
        hosts=[{"address": "redis://127.0.0.1:1/0", "socket_connect_timeout": 1}]
    )
    with pytest.raises(LivePublishError):
        await push_outcome(dead, outcome)


async def test_a_token_past_retention_gets_resync_on_the_socket_and_410_on_rest(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    handler = make_event_handler()
    user = nh.new_user_id()
    token = notify_test_issuer.token(user)
    for i in range(3):
        await handler(nh.task_created(user, title=f"old {i}"))
    old_token = feed.positioned({}, 1)["sync_token"]
    pruned = await sync_to_async(feed.feed_prune)(
        now=timezone.now() + timedelta(days=8),
        retention=timedelta(days=7),
        max_entries_per_user=10_000,
    )
    assert pruned.deleted >= 3
    async with nh.ws_connect(notify_server, token, f"?since={old_token}") as ws:
        frames = await nh.ws_frames(ws, 1.0)
    assert [f["type"] for f in frames] == ["resync"]
    assert frames[0]["sync_token"] == feed.positioned({}, 3)["sync_token"]
    async with _api(notify_server, token) as api:
        gone = await api.get("/api/v1/notifications/changes", params={"since": old_token})
        assert gone.status_code == 410
        assert gone.headers["content-type"].startswith("application/problem+json")
        assert gone.json()["type"].endswith("/resync")
        bad = await api.get("/api/v1/notifications/changes", params={"since": "not-a-token"})
        assert bad.status_code == 400
        fresh = (await api.get("/api/v1/notifications/changes")).json()
        assert fresh["sync_token"] == frames[0]["sync_token"]


async def test_gaining_and_losing_a_project_is_in_the_feed(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    handler = make_event_handler()
    owner, member = nh.new_user_id(), nh.new_user_id()
    project = nh.new_user_id()
    await handler(nh.project_created(owner, project))
    async with nh.ws_connect(notify_server, notify_test_issuer.token(member)) as ws:
        await handler(nh.member_added(owner, project, member))
        await handler(nh.task_created(owner, project_id=project, title="shared"))
        removed = ProjectMemberRemovedV1(project_id=project, user_id=member)
        await handler(nh.envelope(removed, owner))
        await handler(nh.task_created(owner, project_id=project, title="after"))
        seen = await nh.ws_frames(ws, 1.0)
    assert [(f["type"], f.get("access") or f["task"]["title"]) for f in seen] == [
        ("access.changed", "gained"),
        ("task.changed", "shared"),
        ("access.changed", "lost"),
    ]
    assert all(f["project_id"] == project for f in seen if f["type"] == "access.changed")


async def test_an_assignee_taken_off_a_private_task_is_told_it_left_their_view(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    handler = make_event_handler()
    owner, former, successor = nh.new_user_id(), nh.new_user_id(), nh.new_user_id()
    task = nh.task_snapshot(owner, assignee_id=former, title="handed over")
    reassigned = TaskUpdatedV1(
        task=task.model_copy(update={"assignee_id": successor, "version": 2}),
        changed_fields=["assignee_id"],
        changes={"assignee_id": [former, successor]},
    )
    async with nh.ws_connect(notify_server, notify_test_issuer.token(former)) as ws:
        await handler(nh.envelope(TaskCreatedV1(task=task), owner))
        await handler(nh.envelope(reassigned, owner))
        seen = await nh.ws_frames(ws, 1.0)
    assert [(f["change"], f["task"]["id"]) for f in seen] == [
        ("created", task.id),
        ("removed", task.id),
    ]
    assert seen[1]["task"] == {"id": task.id, "project_id": None}


async def test_a_connection_the_database_dropped_costs_one_retry_of_the_event(
    notify_django: Any, notify_database_url: str, nh: Any
) -> None:
    import psycopg
    from django.db import Error, connection

    handler = make_event_handler()
    user = nh.new_user_id()
    await handler(nh.task_created(user, title="before"))

    @sync_to_async
    def backend_pid() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return int(cursor.fetchone()[0])

    with psycopg.connect(notify_database_url) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [await backend_pid()])
    event = nh.task_created(user, title="after the restart")
    failures = 0
    for _ in range(2):  # what the bus's retry does
        try:
            await handler(event)
            break
        except Error:
            failures += 1
    assert failures <= 1
    stored = await sync_to_async(feed.feed_after)(user_id=user, position=0, limit=10)
    assert [e.frame["task"]["title"] for e in stored] == ["before", "after the restart"]
