"""The Task and Project aggregates: invariants, transitions, recurrence, reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taskflow_tasks.domain import events
from taskflow_tasks.domain.errors import Conflict, InvalidFields
from taskflow_tasks.domain.model import Priority, Project, Role, Status, Task
from taskflow_tasks.domain.recurrence import InvalidRecurrence, next_occurrence, normalize_rule
from taskflow_tasks.domain.reminders import InvalidReminder, fire_times, parse_offset
from taskflow_tasks.infrastructure.contracts import to_contract

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def new_task(**values) -> Task:
    return Task.create(owner_id="owner", actor_id="owner", now=NOW, **{"title": "t", **values})


def test_title_is_trimmed_and_bounded():
    assert new_task(title="  hello  ").title == "hello"
    with pytest.raises(InvalidFields) as too_long:
        new_task(title="x" * 201)
    assert too_long.value.violations[0].field == "title"
    with pytest.raises(InvalidFields):
        new_task(title="   ")


def test_every_broken_rule_is_reported_at_once():
    with pytest.raises(InvalidFields) as error:
        new_task(title="", description="d" * 10_001, priority="p0")
    assert {v.field for v in error.value.violations} == {"title", "description", "priority"}


def test_labels_are_case_insensitively_unique_and_bounded():
    assert new_task(labels=[" Work ", "work", "WORK", "home"]).labels == ("Work", "home")
    with pytest.raises(InvalidFields):
        new_task(labels=[f"l{i}" for i in range(21)])
    with pytest.raises(InvalidFields):
        new_task(labels=["x" * 51])
    with pytest.raises(InvalidFields):
        new_task(labels=[""])


def test_due_at_must_not_be_in_the_past_for_a_new_task():
    with pytest.raises(InvalidFields):
        new_task(due_at=NOW - timedelta(seconds=1))
    assert new_task(due_at=NOW + timedelta(hours=1)).due_at == NOW + timedelta(hours=1)


def test_datetimes_need_an_offset_and_are_stored_in_utc():
    from datetime import timezone

    paris = timezone(timedelta(hours=1))
    task = new_task(due_at=datetime(2026, 3, 3, 10, 0, tzinfo=paris))
    assert task.due_at == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert task.due_at.tzinfo == UTC
    with pytest.raises(InvalidFields):
        new_task(due_at=datetime(2026, 3, 3, 10, 0))


def test_reminders_require_due_at():
    with pytest.raises(InvalidFields) as error:
        new_task(reminders=["PT30M"])
    assert error.value.violations[0].field == "reminders"
    task = new_task(due_at=NOW + timedelta(days=2), reminders=["pt30m", "P1D", "PT30M"])
    assert task.reminders == ("PT30M", "P1D")


def test_creation_records_task_created_and_the_assignment():
    assert [type(e) for e in new_task().events] == [events.TaskCreated]
    assigned = new_task(assignee_id="owner")
    assert [type(e) for e in assigned.events] == [events.TaskCreated, events.TaskAssigned]


def test_completion_sets_completed_at_and_reopening_clears_it():
    task = new_task()
    later = NOW + timedelta(hours=1)
    task.apply({"status": Status.DONE}, actor_id="owner", now=later)
    assert task.completed_at == later
    assert task.version == 2
    assert [type(e) for e in task.events][-2:] == [events.TaskUpdated, events.TaskCompleted]
    task.apply({"status": "todo"}, actor_id="owner", now=later)
    assert task.completed_at is None


@pytest.mark.parametrize("start", list(Status))
@pytest.mark.parametrize("end", list(Status))
def test_every_status_transition_keeps_completed_at_consistent(start, end):
    task = new_task(status=start)
    task.apply({"status": end}, actor_id="owner", now=NOW + timedelta(minutes=5))
    assert task.status is end
    assert (task.completed_at is not None) == (end is Status.DONE)


def test_a_patch_that_changes_nothing_keeps_the_version():
    task = new_task(title="same", priority="high")
    task.events.clear()
    assert task.apply({"title": " same ", "priority": Priority.HIGH}, actor_id="o", now=NOW) is None
    assert task.version == 1
    assert task.events == []


def test_update_records_old_and_new_values():
    task = new_task(title="a")
    task.apply({"title": "b", "assignee_id": "owner"}, actor_id="owner", now=NOW)
    updated = next(e for e in task.events if isinstance(e, events.TaskUpdated))
    assert updated.changes == {"title": ("a", "b"), "assignee_id": (None, "owner")}
    assert any(isinstance(e, events.TaskAssigned) for e in task.events)


def test_completing_a_recurring_task_spawns_the_next_occurrence_once():
    due = NOW + timedelta(days=1)
    task = new_task(
        due_at=due,
        start_at=due - timedelta(hours=2),
        recurrence="FREQ=WEEKLY",
        reminders=["PT1H"],
        labels=["chores"],
    )
    spawned = task.apply({"status": "done"}, actor_id="owner", now=NOW)
    assert spawned is not None
    assert spawned.due_at == due + timedelta(weeks=1)
    assert spawned.start_at == due + timedelta(weeks=1) - timedelta(hours=2)
    assert spawned.status is Status.TODO
    assert spawned.labels == ("chores",)
    assert spawned.reminders == ("PT1H",)
    assert task.next_occurrence_id == spawned.id
    completed = next(e for e in task.events if isinstance(e, events.TaskCompleted))
    assert completed.next_occurrence_id == str(spawned.id)
    task.apply({"status": "todo"}, actor_id="owner", now=NOW)
    assert task.apply({"status": "done"}, actor_id="owner", now=NOW) is None


def test_recurrence_count_is_counted_across_the_series():
    task = new_task(due_at=NOW + timedelta(days=1), recurrence="FREQ=DAILY;COUNT=2")
    second = task.apply({"status": "done"}, actor_id="o", now=NOW)
    assert second is not None
    assert second.apply({"status": "done"}, actor_id="o", now=NOW) is None


def test_recurrence_rules():
    assert normalize_rule("rrule:freq=weekly;byday=mo,fr", NOW) == "FREQ=WEEKLY;BYDAY=MO,FR"
    for bad in (
        "FREQ=SOMETIMES",
        "FREQ=SECONDLY",
        "",
        "FREQ=DAILY\nFREQ=WEEKLY",
        "DTSTART:20200101T000000Z",
        "FREQ=DAILY;UNTIL=20260101",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
    ):
        with pytest.raises(InvalidRecurrence):
            normalize_rule(bad, NOW)


def test_next_occurrence_follows_the_rule():
    monday = NOW
    rule = normalize_rule("FREQ=WEEKLY;BYDAY=MO,WE", monday)
    wednesday = next_occurrence(rule, series_start=monday, after=monday)
    assert wednesday == monday + timedelta(days=2)
    assert next_occurrence(rule, series_start=monday, after=wednesday) == monday + timedelta(days=7)
    monthly_end = datetime(2026, 1, 31, 9, tzinfo=UTC)
    assert next_occurrence(
        "FREQ=MONTHLY;BYMONTHDAY=-1", series_start=monthly_end, after=monthly_end
    ) == datetime(2026, 2, 28, 9, tzinfo=UTC)
    until = normalize_rule("FREQ=DAILY;UNTIL=20260303T090000Z", monday)
    assert next_occurrence(until, series_start=monday, after=monday + timedelta(days=1)) is None


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=HOURLY;INTERVAL=99999999999",
        "FREQ=DAILY;COUNT=99999999999999999999",
        "FREQ=DAILY;COUNT=0",
        "FREQ=HOURLY;BYHOUR=25",  # dateutil: TypeError on evaluation
        "FREQ=YEARLY;BYEASTER=99999999",  # dateutil: IndexError on evaluation
    ],
)
def test_rules_dateutil_cannot_evaluate_or_that_are_absurd_are_invalid(rule):
    with pytest.raises(InvalidRecurrence):
        normalize_rule(rule, NOW)
    with pytest.raises(InvalidFields):
        Task.create(owner_id="o", actor_id="o", now=NOW, title="t", recurrence=rule)


def test_reminder_offsets_and_fire_times():
    assert parse_offset("PT30M") == timedelta(minutes=30)
    assert parse_offset("P1W") == timedelta(days=7)
    due = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert fire_times(due, ("PT30M", "P1D", "P1DT2H")) == {
        "PT30M": datetime(2026, 3, 10, 11, 30, tzinfo=UTC),
        "P1D": datetime(2026, 3, 9, 12, 0, tzinfo=UTC),
        "P1DT2H": datetime(2026, 3, 9, 10, 0, tzinfo=UTC),
    }
    assert fire_times(None, ("PT30M",)) == {}
    for bad in ("30M", "P", "PT", "PT0M", "P-1D", "P10Y", "PT30m5", "P1DT", "P1.5D", "P\u0661D"):
        with pytest.raises(InvalidReminder):
            parse_offset(bad)


def test_calendar_reminders_keep_calendar_units():
    end_of_march = datetime(2026, 3, 31, 9, tzinfo=UTC)
    assert fire_times(end_of_march, ("P1M", "P1Y")) == {
        "P1M": datetime(2026, 2, 28, 9, tzinfo=UTC),
        "P1Y": datetime(2025, 3, 31, 9, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    "offset",
    [
        "P3000000D",
        "PT99999999999H",
        "P99999999999999999999Y",
        "PT" + "9" * 40 + "S",
        "P9999999999M",
        "P367D",
        "P13M",
        "P53W",
        "PT8785H",
    ],
)
def test_huge_reminder_offsets_are_invalid_not_an_overflow(offset):
    with pytest.raises(InvalidReminder, match="longer than 366 days"):
        parse_offset(offset)
    with pytest.raises(InvalidFields) as caught:
        Task.create(
            owner_id="o",
            actor_id="o",
            now=NOW,
            title="t",
            due_at=NOW + timedelta(days=400),
            reminders=[offset],
        )
    assert [v.field for v in caught.value.violations] == ["reminders"]


def test_a_year_is_the_longest_reminder():
    due = datetime(2028, 3, 1, tzinfo=UTC)  # a leap year lies before it
    assert fire_times(due, ("P1Y", "P366D", "P52W", "PT8784H"))["P366D"] == datetime(
        2027, 3, 1, tzinfo=UTC
    )


def test_delete_and_restore_bump_the_version_and_record_events():
    task = new_task()
    task.delete(actor_id="owner", now=NOW)
    task.delete(actor_id="owner", now=NOW)  # idempotent
    assert task.deleted_at == NOW
    assert task.version == 2
    task.restore(actor_id="owner", now=NOW)
    assert task.deleted_at is None
    assert [type(e) for e in task.events][1:] == [events.TaskDeleted, events.TaskRestored]


def test_projects_keep_an_owner():
    project = Project.create(owner_id="a", name=" Launch ", description=None, now=NOW)
    assert project.name == "Launch"
    assert project.role_of("a") is Role.OWNER
    assert project.set_member("b", Role.VIEWER, actor_id="a", now=NOW) is True
    assert project.set_member("b", Role.EDITOR, actor_id="a", now=NOW) is False
    with pytest.raises(Conflict):
        project.remove_member("a", actor_id="a", now=NOW)
    with pytest.raises(Conflict):
        project.set_member("a", Role.EDITOR, actor_id="a", now=NOW)
    project.set_member("b", Role.OWNER, actor_id="a", now=NOW)
    project.remove_member("a", actor_id="a", now=NOW)
    assert project.members == {"b": Role.OWNER}


def test_every_project_and_membership_change_is_a_new_project_version_its_events_carry():
    # given a new project: the project and its owner's membership are version 1
    project = Project.create(owner_id="a", name="Shared", description=None, now=NOW)
    # when members are added, change role, are removed, and the project is deleted
    project.set_member("b", Role.VIEWER, actor_id="a", now=NOW)
    project.set_member("b", Role.VIEWER, actor_id="a", now=NOW)  # no change: no version
    project.set_member("b", Role.EDITOR, actor_id="a", now=NOW)
    project.remove_member("b", actor_id="a", now=NOW)
    project.remove_member("b", actor_id="a", now=NOW)  # not a member: no version
    project.update({"name": "Renamed"}, actor_id="a", now=NOW)
    project.delete(actor_id="a", now=NOW)
    # then each change took the next version, and the integration events carry it
    carried = []
    for event in project.events:
        data = to_contract(event)
        snapshot = getattr(data, "project", None)
        version = snapshot.version if snapshot is not None else data.project_version
        carried.append((data.EVENT_TYPE.split(".")[2], version))
    assert carried == [
        ("created", 1),
        ("member_added", 1),
        ("member_added", 2),
        ("member_added", 3),
        ("member_removed", 4),
        ("updated", 5),
        ("deleted", 6),
    ]
    assert project.version == 6
