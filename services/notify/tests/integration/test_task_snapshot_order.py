"""Task snapshots in the change feed, fed the same task events in every order (ADR 0304).

Clients keep each task's snapshot by id from `task.changed` frames: a late, older snapshot must
not overwrite a newer one in their view, nor bring a deleted task back.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from taskflow_common.events.contracts.tasks import (
    TaskCreatedV1,
    TaskDeletedV1,
    TaskRestoredV1,
    TaskUpdatedV1,
)
from taskflow_common.events.envelope import RawEnvelope
from taskflow_notify import services
from taskflow_notify.models import FeedEntry


def _ingest(envelope: RawEnvelope) -> None:
    services.event_ingest(envelope=envelope, enqueue=lambda channel, delivery_id: None)


def _task_frames(user: str, task_id: str) -> list[tuple[str, int]]:
    entries = FeedEntry.objects.filter(
        user_id=user, frame_type="task.changed", frame__task__id=task_id
    ).order_by("position")
    return [(e.frame["change"], e.frame["task"]["version"]) for e in entries]


def _history(nh: Any, owner: str) -> list[RawEnvelope]:
    """A task created (v1), renamed (v2), deleted (v3), restored (v4) and renamed (v5)."""
    first = nh.task_snapshot(owner, title="first")

    def at(version: int, **fields: Any) -> Any:
        return first.model_copy(update={"version": version, **fields})

    return [
        nh.envelope(TaskCreatedV1(task=first), owner),
        nh.envelope(TaskUpdatedV1(task=at(2, title="second"), changed_fields=["title"]), owner),
        nh.envelope(TaskDeletedV1(task=at(3, title="second")), owner),
        nh.envelope(TaskRestoredV1(task=at(4, title="second")), owner),
        nh.envelope(TaskUpdatedV1(task=at(5, title="third"), changed_fields=["title"]), owner),
    ]


@pytest.mark.parametrize(
    "order",
    [
        *itertools.permutations(range(3)),  # created, updated, deleted: every order
        (0, 1, 4, 2, 3),  # the last rename overtakes the deletion and the restore
        (4, 3, 2, 1, 0),
        (0, 2, 1, 3, 4),  # a rename delivered after the deletion it preceded
    ],
    ids=lambda o: "".join(map(str, o)),
)
def test_a_late_task_snapshot_never_replaces_a_newer_one_in_the_feed(
    notify_django: Any, nh: Any, order: tuple[int, ...]
) -> None:
    # given a task's events, delivered in this order (and each once more)
    owner = nh.new_user_id()
    history = _history(nh, owner)
    task_id = history[0].data["task"]["id"]

    # when they are ingested
    for i in order:
        _ingest(history[i])
    for i in order:
        _ingest(history[i])

    # then the feed's snapshots only ever move forward, ending at the newest delivered
    frames = _task_frames(owner, task_id)
    versions = [version for _change, version in frames]
    assert versions == sorted(set(versions))
    assert versions[-1] == max(order) + 1
    assert frames[-1][0] == ["created", "updated", "deleted", "created", "updated"][max(order)]


def test_concurrent_deliveries_of_one_tasks_events_still_only_move_forward(
    notify_django: Any, nh: Any
) -> None:
    # given a task's five events, each round delivered all at once from five threads
    for _round in range(6):
        owner = nh.new_user_id()
        history = _history(nh, owner)
        start = threading.Barrier(len(history))

        def deliver(envelope: RawEnvelope, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                _ingest(envelope)
            finally:
                connection.close()  # this thread's own connection

        # when they race (each locks the task's version row until it commits)
        with ThreadPoolExecutor(len(history)) as pool:
            list(pool.map(deliver, history))

        # then the feed's snapshots still only move forward, ending at the newest
        versions = [v for _c, v in _task_frames(owner, history[0].data["task"]["id"])]
        assert versions == sorted(set(versions))
        assert versions[-1] == 5
