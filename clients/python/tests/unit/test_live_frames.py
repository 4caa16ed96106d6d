"""The live stream's frames: typed, de-duplicated by position, and the sync token kept."""

from __future__ import annotations

import json

from taskflow_sdk.live import LiveStream, NotificationReceived, Resync, TaskChanged, ws_url


async def never() -> str:
    raise AssertionError("not called")


def stream() -> LiveStream:
    async def refresh() -> bool:
        return False

    return LiveStream("http://gateway.test", never, never, refresh, since="f0")


def frame(**fields: object) -> str:
    return json.dumps(fields)


def test_task_changes_and_notifications_are_typed_and_advance_the_token() -> None:
    live = stream()

    changed = live._accept(
        frame(type="task.changed", change="created", task={"id": "t1"}, pos=1, sync_token="a")
    )
    note = live._accept(frame(type="notification", kind="task_assigned", pos=2, sync_token="b"))

    assert isinstance(changed, TaskChanged)
    assert changed.task == {"id": "t1"}
    assert isinstance(note, NotificationReceived)
    assert note.notification["kind"] == "task_assigned"
    assert live.sync_token == "b"


def test_a_frame_seen_before_is_dropped() -> None:
    live = stream()
    live._accept(frame(type="task.changed", change="created", task={}, pos=5, sync_token="e"))

    assert (
        live._accept(frame(type="task.changed", change="x", task={}, pos=5, sync_token="e")) is None
    )
    assert (
        live._accept(frame(type="task.changed", change="x", task={}, pos=4, sync_token="d")) is None
    )


def test_pings_move_the_token_without_yielding() -> None:
    live = stream()

    assert live._accept(frame(type="ping", ts=1.0, sync_token="p")) is None
    assert live._accept(frame(type="replay.done", sync_token="q")) is None
    assert live.sync_token == "q"


def test_resync_is_yielded_with_the_token_to_resume_from() -> None:
    live = stream()

    resync = live._accept(frame(type="resync", reason="gap", sync_token="z"))

    assert resync == Resync(reason="gap", sync_token="z")
    assert live.sync_token == "z"


def test_the_socket_url_follows_the_scheme() -> None:
    assert ws_url("https://tf.example") == "wss://tf.example/ws/notifications"
    assert ws_url("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/ws/notifications"
