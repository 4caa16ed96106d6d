"""Command handlers over in-memory fakes: access rules, idempotency, batch atomicity."""

from __future__ import annotations

import sys
import typing
from datetime import timedelta
from uuid import uuid4

import pytest

from taskflow_tasks.application import commands as c
from taskflow_tasks.application.handlers import HANDLERS, BatchFailed, IdempotencyKeyReused
from taskflow_tasks.domain import events
from taskflow_tasks.domain.errors import Forbidden, InvalidFields, NotFound, PreconditionFailed

from .conftest import NOW  # type: ignore[import-not-found]


async def test_create_commits_the_task_and_its_event(commands, fake_store):
    created = await commands.handle(c.CreateTask("alice", {"title": "write"}))
    assert fake_store.tasks[created.task.id].title == "write"
    assert [type(e) for e in fake_store.outbox] == [events.TaskCreated]


async def test_idempotent_create_replays_and_refuses_a_different_body(commands, fake_store):
    first = await commands.handle(c.CreateTask("alice", {"title": "once"}, "key", "digest-1"))
    again = await commands.handle(c.CreateTask("alice", {"title": "once"}, "key", "digest-1"))
    assert again.replayed
    assert again.task.id == first.task.id
    assert len(fake_store.tasks) == 1
    with pytest.raises(IdempotencyKeyReused):
        await commands.handle(c.CreateTask("alice", {"title": "other"}, "key", "digest-2"))
    other_user = await commands.handle(c.CreateTask("bob", {"title": "b"}, "key", "digest-2"))
    assert not other_user.replayed


async def test_a_stranger_gets_not_found_and_nothing_changes(commands, fake_store):
    task = (await commands.handle(c.CreateTask("alice", {"title": "mine"}))).task
    for command in (
        c.UpdateTask("mallory", task.id, {"title": "stolen"}),
        c.DeleteTask("mallory", task.id),
        c.RestoreTask("mallory", task.id),
    ):
        with pytest.raises(NotFound):
            await commands.handle(command)
    assert fake_store.tasks[task.id].title == "mine"
    assert len(fake_store.outbox) == 1


async def test_stale_precondition_is_refused(commands, fake_store):
    task = (await commands.handle(c.CreateTask("alice", {"title": "v1"}))).task
    await commands.handle(c.UpdateTask("alice", task.id, {"title": "v2"}, frozenset({1})))
    with pytest.raises(PreconditionFailed):
        await commands.handle(c.UpdateTask("alice", task.id, {"title": "v3"}, frozenset({1})))
    assert fake_store.tasks[task.id].title == "v2"


async def test_project_roles(commands, fake_store):
    project = await commands.handle(c.CreateProject("owner", "Launch"))
    await commands.handle(c.SetMember("owner", project.id, "viewer", "viewer"))
    await commands.handle(c.SetMember("owner", project.id, "editor", "editor"))
    task = (
        await commands.handle(c.CreateTask("owner", {"title": "shared", "project_id": project.id}))
    ).task
    with pytest.raises(Forbidden):
        await commands.handle(c.UpdateTask("viewer", task.id, {"title": "no"}))
    with pytest.raises(Forbidden):
        await commands.handle(c.CreateTask("viewer", {"title": "x", "project_id": project.id}))
    await commands.handle(c.UpdateTask("editor", task.id, {"assignee_id": "viewer"}))
    with pytest.raises(Forbidden):
        await commands.handle(c.SetMember("editor", project.id, "x", "viewer"))
    with pytest.raises(NotFound):
        await commands.handle(c.UpdateProject("stranger", project.id, {"name": "x"}))
    await commands.handle(c.RemoveMember("owner", project.id, "viewer"))
    assert fake_store.tasks[task.id].assignee_id is None  # unassigned on removal
    with pytest.raises(NotFound):
        await commands.handle(c.UpdateTask("viewer", task.id, {"title": "no"}))


async def test_assignee_must_be_a_member(commands):
    project = await commands.handle(c.CreateProject("owner", "P"))
    with pytest.raises(InvalidFields):
        await commands.handle(
            c.CreateTask("owner", {"title": "t", "project_id": project.id, "assignee_id": "x"})
        )
    with pytest.raises(InvalidFields):
        await commands.handle(c.CreateTask("owner", {"title": "t", "assignee_id": "x"}))


async def test_an_admin_command_passes_the_owner_check_and_is_the_events_actor(
    commands, fake_store
):
    task = (await commands.handle(c.CreateTask("alice", {"title": "mine"}))).task
    with pytest.raises(NotFound):  # the same actor without the admin authority is a stranger
        await commands.handle(c.UpdateTask("root", task.id, {"priority": "high"}))
    await commands.handle(c.UpdateTask("root", task.id, {"priority": "high"}, as_admin=True))
    await commands.handle(c.DeleteTask("root", task.id, as_admin=True))
    restored = await commands.handle(c.RestoreTask("root", task.id, as_admin=True))
    assert restored.owner_id == "alice"
    assert [type(e) for e in fake_store.outbox][1:] == [
        events.TaskUpdated,
        events.TaskDeleted,
        events.TaskRestored,
    ]
    assert {e.actor_id for e in fake_store.outbox[1:]} == {"root"}


async def test_an_admin_still_meets_every_domain_rule(commands, fake_store):
    project = await commands.handle(c.CreateProject("owner", "P"))
    task = (
        await commands.handle(c.CreateTask("owner", {"title": "t", "project_id": project.id}))
    ).task
    with pytest.raises(InvalidFields):  # the assignee must be a member, whoever assigns
        await commands.handle(c.UpdateTask("root", task.id, {"assignee_id": "x"}, as_admin=True))
    with pytest.raises(InvalidFields):
        await commands.handle(c.UpdateTask("root", task.id, {"title": " "}, as_admin=True))
    with pytest.raises(NotFound):  # moving into a project that does not exist
        await commands.handle(c.UpdateTask("root", task.id, {"project_id": uuid4()}, as_admin=True))
    assert fake_store.tasks[task.id].assignee_id is None


async def test_batch_is_all_or_nothing_and_names_every_failure(commands, fake_store):
    a = (await commands.handle(c.CreateTask("alice", {"title": "a"}))).task
    b = (await commands.handle(c.CreateTask("bob", {"title": "b"}))).task
    events_before = len(fake_store.outbox)
    with pytest.raises(BatchFailed) as failed:
        await commands.handle(
            c.BatchTasks(
                "alice",
                (
                    c.BatchOperation("update", a.id, {"title": "changed"}),
                    c.BatchOperation("delete", b.id),
                    c.BatchOperation("update", a.id, {"priority": "p0"}),
                ),
            )
        )
    assert [f.index for f in failed.value.failures] == [1, 2]
    assert fake_store.tasks[a.id].title == "a"
    assert len(fake_store.outbox) == events_before


async def test_batch_naming_a_task_twice_keeps_both_changes(commands, fake_store):
    a = (await commands.handle(c.CreateTask("alice", {"title": "a"}))).task
    await commands.handle(
        c.BatchTasks(
            "alice",
            (
                c.BatchOperation("update", a.id, {"title": "b"}),
                c.BatchOperation("update", a.id, {"priority": "high"}),
            ),
        )
    )
    stored = fake_store.tasks[a.id]
    assert (stored.title, stored.priority.value, stored.version) == ("b", "high", 3)


async def test_subtasks_follow_their_parent_into_a_project(commands, fake_store):
    project = await commands.handle(c.CreateProject("alice", "P"))
    parent = (await commands.handle(c.CreateTask("alice", {"title": "p"}))).task
    child = (
        await commands.handle(c.CreateTask("alice", {"title": "c", "parent_id": parent.id}))
    ).task
    await commands.handle(c.UpdateTask("alice", parent.id, {"project_id": project.id}))
    assert fake_store.tasks[child.id].project_id == project.id


async def test_completing_a_recurring_task_commits_the_next_occurrence(commands, fake_store):
    task = (
        await commands.handle(
            c.CreateTask(
                "alice",
                {
                    "title": "standup",
                    "due_at": NOW + timedelta(hours=1),
                    "recurrence": "FREQ=DAILY",
                },
            )
        )
    ).task
    await commands.handle(c.UpdateTask("alice", task.id, {"status": "done"}))
    assert len(fake_store.tasks) == 2
    completed = [e for e in fake_store.outbox if isinstance(e, events.TaskCompleted)]
    assert completed[0].next_occurrence_id is not None


def test_every_command_has_a_handler_returning_the_commands_result_type():
    # CommandBus.handle is typed by Command[R]; the handler table is not, so the pairs are
    # checked here: a handler returning something else than its command declares fails.
    commands_ = [
        cls
        for cls in vars(c).values()
        if isinstance(cls, type) and issubclass(cls, c.Command) and cls is not c.Command
    ]
    assert set(commands_) == set(HANDLERS)
    for command in commands_:
        (base,) = (b for b in command.__orig_bases__ if typing.get_origin(b) is c.Command)
        (declared,) = typing.get_args(base)
        handler = HANDLERS[command]
        hints = typing.get_type_hints(handler, vars(sys.modules[handler.__module__]))
        assert hints["cmd"] is command, handler.__name__
        assert hints["return"] == declared, (command.__name__, hints["return"], declared)
