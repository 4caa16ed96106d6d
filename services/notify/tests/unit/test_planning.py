"""Who hears about what: pure routing decisions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from taskflow_common.events.contracts.suggest import PrioritySuggestedV1
from taskflow_common.events.contracts.tasks import (
    TaskAssignedV1,
    TaskCompletedV1,
    TaskCreatedV1,
    TaskDeletedV1,
    TaskDueSoonV1,
    TaskSnapshotV1,
    TaskUpdatedV1,
)
from taskflow_notify.kinds import Kind
from taskflow_notify.planning import plan_event

OWNER, ASSIGNEE, MEMBER, STRANGER = "owner", "assignee", "member", "stranger"


def _task(**overrides: object) -> TaskSnapshotV1:
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "owner_id": OWNER,
        "title": "T",
        "status": "todo",
        "priority": "low",
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    fields.update(overrides)
    return TaskSnapshotV1(**fields)  # type: ignore[arg-type]


def test_a_created_task_is_seen_live_by_owner_assignee_and_project_people() -> None:
    plan = plan_event(
        TaskCreatedV1(task=_task(assignee_id=ASSIGNEE, project_id="p")),
        actor=OWNER,
        project_audience={MEMBER},
    )
    assert plan.task_change is not None
    assert plan.task_change.change == "created"
    assert plan.task_change.audience == {OWNER, ASSIGNEE, MEMBER}
    assert STRANGER not in plan.task_change.audience
    # The assignee hears of it from the `assigned` event that follows (next test).
    assert plan.notifications == []


def test_a_task_created_assigned_notifies_its_assignee_once() -> None:
    """The tasks service emits `created` then `assigned` for a task created with an assignee:
    together they are one notification, not two (and so one email)."""
    task = _task(assignee_id=ASSIGNEE, project_id="p")
    plans = [
        plan_event(event, actor=OWNER, project_audience={MEMBER})
        for event in (TaskCreatedV1(task=task), TaskAssignedV1(task=task))
    ]
    told = [(n.user_id, n.kind) for plan in plans for n in plan.notifications]
    assert told == [(ASSIGNEE, Kind.TASK_ASSIGNED)]


def test_a_deleted_private_task_is_seen_by_its_owner_only() -> None:
    plan = plan_event(TaskDeletedV1(task=_task()), actor=OWNER, project_audience=set())
    assert plan.task_change is not None
    assert plan.task_change.audience == {OWNER}


def test_assignment_notifies_the_new_assignee_but_not_a_self_assignment() -> None:
    plan = plan_event(
        TaskAssignedV1(task=_task(assignee_id=ASSIGNEE)), actor=OWNER, project_audience=set()
    )
    assert [(n.user_id, n.kind) for n in plan.notifications] == [(ASSIGNEE, Kind.TASK_ASSIGNED)]
    own = plan_event(
        TaskAssignedV1(task=_task(assignee_id=OWNER)), actor=OWNER, project_audience=set()
    )
    assert own.notifications == []


def test_completion_is_news_only_in_shared_projects_and_not_to_the_actor() -> None:
    private = plan_event(
        TaskCompletedV1(task=_task(status="done")), actor=OWNER, project_audience=set()
    )
    assert private.notifications == []
    shared = plan_event(
        TaskCompletedV1(task=_task(status="done", project_id="p", assignee_id=ASSIGNEE)),
        actor=ASSIGNEE,
        project_audience={MEMBER},
    )
    assert sorted(n.user_id for n in shared.notifications) == [MEMBER, OWNER]
    assert {n.kind for n in shared.notifications} == {Kind.TASK_COMPLETED}


def test_reminders_go_to_owner_and_assignee() -> None:
    now = datetime.now(UTC)
    plan = plan_event(
        TaskDueSoonV1(
            task=_task(assignee_id=ASSIGNEE, due_at=now), reminder="PT30M", remind_at=now
        ),
        actor=OWNER,
        project_audience=set(),
    )
    assert sorted(n.user_id for n in plan.notifications) == [ASSIGNEE, OWNER]
    assert plan.notifications[0].title == '"T" is due soon'


def test_a_priority_suggestion_goes_to_the_task_owner() -> None:
    event = PrioritySuggestedV1(
        suggestion_id="s",
        task_id="t",
        owner_id=OWNER,
        priority="urgent",
        rationale="due tomorrow",
        confidence=0.9,
        source="heuristic",
    )
    plan = plan_event(event, actor=OWNER, project_audience=set())
    assert [(n.user_id, n.kind, n.body) for n in plan.notifications] == [
        (OWNER, Kind.PRIORITY_SUGGESTED, "due tomorrow")
    ]
    assert plan.task_change is None


def _reassigned(before: str | None, after: str | None, project_id: str | None) -> TaskUpdatedV1:
    return TaskUpdatedV1(
        task=_task(assignee_id=after, project_id=project_id),
        changed_fields=["assignee_id"],
        changes={"assignee_id": [before, after]},
    )


def test_a_former_assignee_who_cannot_see_the_task_any_more_loses_sight_of_it() -> None:
    plan = plan_event(
        _reassigned(ASSIGNEE, STRANGER, project_id=None), actor=OWNER, project_audience=set()
    )
    assert plan.task_change is not None
    assert plan.task_change.audience == {OWNER, STRANGER}
    assert plan.task_change.lost_sight == {ASSIGNEE}


def test_a_former_assignee_who_still_sees_the_task_through_its_project_keeps_it() -> None:
    plan = plan_event(
        _reassigned(MEMBER, None, project_id="p"), actor=OWNER, project_audience={MEMBER}
    )
    assert plan.task_change is not None
    assert MEMBER in plan.task_change.audience
    assert plan.task_change.lost_sight == frozenset()


def test_an_update_that_leaves_the_assignee_alone_takes_the_task_from_nobody() -> None:
    first_assignment = _reassigned(None, ASSIGNEE, project_id=None)
    retitled = TaskUpdatedV1(
        task=_task(assignee_id=ASSIGNEE),
        changed_fields=["title"],
        changes={"title": ["old", "new"]},
    )
    for event in (first_assignment, retitled):
        plan = plan_event(event, actor=OWNER, project_audience=set())
        assert plan.task_change is not None
        assert plan.task_change.lost_sight == frozenset()
