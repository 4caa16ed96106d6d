"""The membership read model on the real Postgres, fed the same events in every order.

Events arrive in no guaranteed order (ADR 0304): whatever order a member's added, removed and
re-added events come in, the project's version decides, and a removed member hears nothing
of the project's later tasks.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection

from taskflow_common.events.contracts.tasks import (
    ProjectCreatedV1,
    ProjectDeletedV1,
    ProjectMemberAddedV1,
    ProjectMemberRemovedV1,
    ProjectSnapshotV1,
    TaskCompletedV1,
)
from taskflow_common.events.envelope import RawEnvelope
from taskflow_notify import selectors, services
from taskflow_notify.models import FeedEntry, Notification


def _ingest(envelope: RawEnvelope) -> None:
    services.event_ingest(envelope=envelope, enqueue=lambda channel, delivery_id: None)


def _project(owner: str, project_id: str, version: int) -> ProjectSnapshotV1:
    now = datetime.now(UTC)
    return ProjectSnapshotV1(
        id=project_id,
        owner_id=owner,
        name="Shared",
        version=version,
        created_at=now,
        updated_at=now,
    )


class _Project:
    """A project's event stream as tasks would write it: each change the next version."""

    def __init__(self, nh: Any) -> None:
        self.nh = nh
        self.owner, self.id = nh.new_user_id(), nh.new_user_id()
        self.version = 1

    def created(self) -> list[RawEnvelope]:
        added = ProjectMemberAddedV1(
            project_id=self.id, user_id=self.owner, role="owner", project_version=1
        )
        return [
            self.nh.envelope(
                ProjectCreatedV1(project=_project(self.owner, self.id, 1)), self.owner
            ),
            self.nh.envelope(added, self.owner),
        ]

    def added(self, user: str) -> RawEnvelope:
        self.version += 1
        data = ProjectMemberAddedV1(
            project_id=self.id, user_id=user, role="editor", project_version=self.version
        )
        return self.nh.envelope(data, self.owner)

    def removed(self, user: str) -> RawEnvelope:
        self.version += 1
        data = ProjectMemberRemovedV1(
            project_id=self.id, user_id=user, project_version=self.version
        )
        return self.nh.envelope(data, self.owner)

    def deleted(self) -> RawEnvelope:
        self.version += 1
        snapshot = _project(self.owner, self.id, self.version)
        return self.nh.envelope(ProjectDeletedV1(project=snapshot), self.owner)

    def task_completed(self) -> RawEnvelope:
        task = self.nh.task_snapshot(self.owner, project_id=self.id, status="done")
        return self.nh.envelope(TaskCompletedV1(task=task), self.owner)


def _active(project_id: str) -> set[str]:
    """Who the read model routes the project's events to."""
    return selectors.project_audience(project_id=project_id)


def _access_frames(user: str, project_id: str) -> list[str]:
    entries = FeedEntry.objects.filter(
        user_id=user, frame_type="access.changed", frame__project_id=project_id
    ).order_by("position")
    return [e.frame["access"] for e in entries]


def _deliver_at_once(envelopes: list[RawEnvelope]) -> None:
    """Each envelope ingested from a thread of its own, all released together."""
    start = threading.Barrier(len(envelopes))

    def deliver(envelope: RawEnvelope) -> None:
        start.wait()
        try:
            _ingest(envelope)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(len(envelopes)) as pool:
        list(pool.map(deliver, envelopes))  # re-raises any delivery's error


def _order_ids(count: int) -> list[tuple[int, ...]]:
    return list(itertools.permutations(range(count)))


@pytest.mark.parametrize("order", _order_ids(4), ids=lambda o: "".join(map(str, o)))
def test_added_removed_readded_removed_in_any_order_ends_removed_and_unnotified(
    notify_django: Any, nh: Any, order: tuple[int, ...]
) -> None:
    # given a project, and a member's four membership changes delivered in this order
    project = _Project(nh)
    member = nh.new_user_id()
    changes = [
        project.added(member),
        project.removed(member),
        project.added(member),
        project.removed(member),
    ]
    for envelope in project.created():
        _ingest(envelope)

    # when they are applied in this order, and then all delivered once more
    for i in order:
        _ingest(changes[i])
    for i in order:
        _ingest(changes[i])

    # then the newest change (the last removal) holds, whichever came last
    assert _active(project.id) == {project.owner}
    # the member's feed saw access come and go as applied, and ends without it
    frames = _access_frames(member, project.id)
    assert frames == ["gained", "lost"] * (len(frames) // 2)
    # and a task completed in the project afterwards notifies the owner's co-members only
    completed = project.task_completed()
    _ingest(completed)
    assert not Notification.objects.filter(event_id=completed.event_id, user_id=member).exists()
    assert not FeedEntry.objects.filter(event_id=completed.event_id, user_id=member).exists()


@pytest.mark.parametrize("order", _order_ids(3), ids=lambda o: "".join(map(str, o)))
def test_added_removed_readded_in_any_order_ends_a_member(
    notify_django: Any, nh: Any, order: tuple[int, ...]
) -> None:
    # given a member added, removed and added again, delivered in this order
    project = _Project(nh)
    member, colleague = nh.new_user_id(), nh.new_user_id()
    changes = [project.added(member), project.removed(member), project.added(member)]
    for envelope in [*project.created(), project.added(colleague)]:
        _ingest(envelope)

    # when they are applied
    for i in order:
        _ingest(changes[i])

    # then the re-addition holds, the feed's last word is "gained", and they hear of tasks
    assert _active(project.id) == {project.owner, colleague, member}
    frames = _access_frames(member, project.id)
    assert frames == ["gained", "lost"] * (len(frames) // 2) + ["gained"]
    completed = project.task_completed()
    _ingest(completed)
    notified = Notification.objects.filter(event_id=completed.event_id)
    assert set(notified.values_list("user_id", flat=True)) == {colleague, member}


@pytest.mark.parametrize("order", _order_ids(3), ids=lambda o: "".join(map(str, o)))
def test_a_deleted_project_takes_no_membership_back_whatever_came_late(
    notify_django: Any, nh: Any, order: tuple[int, ...]
) -> None:
    # given a member added, the project created late, and the project deleted
    project = _Project(nh)
    member = nh.new_user_id()
    created = project.created()
    added = project.added(member)
    events = [created[1], added, project.deleted()]
    _ingest(created[0])

    # when these arrive in this order
    for i in order:
        _ingest(events[i])

    # then nobody is a member, and whoever was told of access was told it is gone
    assert _active(project.id) == set()
    for user in (project.owner, member):
        frames = _access_frames(user, project.id)
        assert frames in ([], ["gained", "lost"])
    completed = project.task_completed()
    _ingest(completed)
    assert not Notification.objects.filter(event_id=completed.event_id).exists()


def test_unversioned_events_from_older_producers_still_apply_in_the_order_they_come(
    notify_django: Any, nh: Any
) -> None:
    # given events from a tasks service that stamps no project version
    project, member = nh.new_user_id(), nh.new_user_id()
    owner = nh.new_user_id()
    _ingest(nh.project_created(owner, project))

    # when a member is added, removed and added again
    for data in (
        ProjectMemberAddedV1(project_id=project, user_id=member, role="editor"),
        ProjectMemberRemovedV1(project_id=project, user_id=member),
        ProjectMemberAddedV1(project_id=project, user_id=member, role="viewer"),
    ):
        _ingest(nh.envelope(data, owner))

    # then each applied as it came (the behaviour before versions)
    assert member in _active(project)
    assert _access_frames(member, project) == ["gained", "lost", "gained"]


def test_a_creator_removed_by_a_co_owner_hears_no_more_of_the_project(
    notify_django: Any, nh: Any
) -> None:
    # given a project whose creator made a colleague co-owner and then left it
    project = _Project(nh)
    colleague = nh.new_user_id()
    for envelope in [*project.created(), project.added(colleague), project.removed(project.owner)]:
        _ingest(envelope)

    # when the colleague completes one of the project's tasks
    task = nh.task_snapshot(colleague, project_id=project.id, status="done")
    completed = nh.envelope(TaskCompletedV1(task=task), colleague)
    _ingest(completed)

    # then the creator, no longer a member, is not told (tasks no longer shows it to them)
    assert _active(project.id) == {colleague}
    assert not Notification.objects.filter(event_id=completed.event_id).exists()


def test_concurrent_deliveries_of_one_members_changes_apply_one_at_a_time(
    notify_django: Any, nh: Any
) -> None:
    # given a member's four changes, each round delivered all at once from four threads
    for _round in range(8):
        project = _Project(nh)
        member = nh.new_user_id()
        for envelope in project.created():
            _ingest(envelope)
        changes = [
            project.added(member),
            project.removed(member),
            project.added(member),
            project.removed(member),
        ]
        # when they race (each event's transaction locks the project's row first)
        _deliver_at_once(changes)

        # then the newest change holds, and access was told as applied
        assert _active(project.id) == {project.owner}
        frames = _access_frames(member, project.id)
        assert frames == ["gained", "lost"] * (len(frames) // 2)
