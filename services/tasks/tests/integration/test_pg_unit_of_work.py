"""The unit of work on the real Postgres, as bootstrap wires it: rows as written, locking, the
identity map, idempotency races, project deletion, rollback, and commits too large for one
statement's parameters."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from taskflow_tasks.application import commands as c
from taskflow_tasks.application.deps import Deps
from taskflow_tasks.application.handlers import CommandBus
from taskflow_tasks.application.ports import DuplicateIdempotencyKey, IdempotencyRecord
from taskflow_tasks.domain.events import TaskCreated
from taskflow_tasks.domain.model import Task
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.mapping import task_to_row

# Postgres (and asyncpg) take at most this many bind parameters in one statement.
MAX_PARAMS_PER_STATEMENT = 32_767


def _user(prefix: str) -> str:
    # One database serves every test of the session: subjects never repeat.
    return f"{prefix}-{secrets.token_hex(4)}"


async def _scalar(engine, query):
    async with engine.connect() as conn:
        return await conn.scalar(query)


async def _outbox_count(engine, subject: str, event_type: str | None = None) -> int:
    query = (
        select(func.count())
        .select_from(t.outbox)
        .where(t.outbox.c.payload["subject"].as_string() == subject)
    )
    if event_type is not None:
        query = query.where(t.outbox.c.event_type == event_type)
    return int(await _scalar(engine, query) or 0)


async def test_every_field_is_written_and_read_back_as_it_was(tasks_pg_db, tasks_pg_engine):
    user = _user("fields")
    bus = CommandBus(Deps(uow=tasks_pg_db.uow))
    now = datetime.now(UTC)
    values = {
        "title": "Every field",
        "description": "with ünïcode and 'quotes'",
        "status": "in_progress",
        "priority": "high",
        "due_at": now + timedelta(days=2),
        "start_at": now + timedelta(days=1),
        "labels": ["Work", "Deep"],
        "reminders": ["PT1H", "P1D"],
        "recurrence": "FREQ=WEEKLY",
    }
    created = (await bus.handle(c.CreateTask(user, values))).task

    async with tasks_pg_db.uow() as uow:
        loaded = await uow.tasks.get(created.id)
    assert loaded is not None
    assert task_to_row(loaded) == task_to_row(created)
    assert loaded.due_at is not None
    assert loaded.due_at.utcoffset() == timedelta(0)
    label_keys = await _scalar(
        tasks_pg_engine, select(t.tasks.c.label_keys).where(t.tasks.c.id == created.id)
    )
    assert label_keys == ["work", "deep"]
    reminders = await _scalar(
        tasks_pg_engine,
        select(func.count()).select_from(t.reminders).where(t.reminders.c.task_id == created.id),
    )
    assert reminders == 2


async def test_one_transaction_holds_one_object_per_task(tasks_pg_db):
    user = _user("identity")
    bus = CommandBus(Deps(uow=tasks_pg_db.uow))
    parent = (await bus.handle(c.CreateTask(user, {"title": "parent"}))).task
    child = (await bus.handle(c.CreateTask(user, {"title": "child", "parent_id": parent.id}))).task

    async with tasks_pg_db.uow() as uow:
        first = await uow.tasks.get(child.id)
        assert await uow.tasks.get(child.id) is first
        assert list(await uow.tasks.subtasks_of(parent.id)) == [first]
        assert (await uow.tasks.subtasks_of(parent.id))[0] is first
        assert await uow.tasks.get(parent.id) is not None
        assert len(uow.tasks.seen) == 2


async def test_concurrent_updates_of_one_task_wait_for_each_other(tasks_pg_db, tasks_pg_engine):
    # given one task
    user = _user("locking")
    bus = CommandBus(Deps(uow=tasks_pg_db.uow))
    task = (await bus.handle(c.CreateTask(user, {"title": "contended"}))).task

    # when eight updates race (the row lock makes each read what the previous one wrote)
    await asyncio.gather(
        *(bus.handle(c.UpdateTask(user, task.id, {"title": f"edit {i}"})) for i in range(8))
    )

    # then no update was lost: eight versions, each announced once
    version = await _scalar(
        tasks_pg_engine, select(t.tasks.c.version).where(t.tasks.c.id == task.id)
    )
    assert version == 1 + 8
    async with tasks_pg_engine.connect() as conn:
        announced = (
            await conn.scalars(
                select(t.outbox.c.payload["data"]["task"]["version"].as_integer()).where(
                    t.outbox.c.payload["subject"].as_string() == user,
                    t.outbox.c.event_type == "tasks.task.updated.v1",
                )
            )
        ).all()
    assert sorted(announced) == list(range(2, 10))


async def test_a_new_due_date_rearms_the_overdue_notice_and_a_title_edit_does_not(
    tasks_pg_db, tasks_pg_engine
):
    user = _user("overdue")
    bus = CommandBus(Deps(uow=tasks_pg_db.uow))
    due = datetime.now(UTC) + timedelta(days=1)
    task = (await bus.handle(c.CreateTask(user, {"title": "t", "due_at": due}))).task
    fired = datetime.now(UTC).replace(microsecond=0)

    async def overdue_fired_at():
        query = select(t.tasks.c.overdue_fired_at).where(t.tasks.c.id == task.id)
        return await _scalar(tasks_pg_engine, query)

    async with tasks_pg_engine.begin() as conn:
        await conn.execute(
            update(t.tasks).where(t.tasks.c.id == task.id).values(overdue_fired_at=fired)
        )
    await bus.handle(c.UpdateTask(user, task.id, {"title": "renamed"}))
    assert await overdue_fired_at() == fired
    await bus.handle(c.UpdateTask(user, task.id, {"due_at": due + timedelta(days=1)}))
    assert await overdue_fired_at() is None


async def test_of_two_transactions_adding_one_idempotency_key_the_second_is_refused(
    tasks_pg_db, tasks_pg_engine
):
    user = _user("idem")

    def record() -> IdempotencyRecord:
        return IdempotencyRecord(
            user_id=user,
            key="race",
            fingerprint="f" * 64,
            task_id=Task.create(owner_id=user, actor_id=user, now=datetime.now(UTC), title="x").id,
            response={"title": "x", "labels": ["a"]},
            created_at=datetime.now(UTC),
        )

    async def second() -> None:
        async with tasks_pg_db.uow() as uow:
            await uow.idempotency.add(record())  # waits on the first one's uncommitted key
            await uow.commit()

    async with tasks_pg_db.uow() as first:
        assert await first.idempotency.get(user, "race") is None
        written = record()
        await first.idempotency.add(written)
        racing = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not racing.done()
        await first.commit()
    with pytest.raises(DuplicateIdempotencyKey):
        await racing

    async with tasks_pg_db.uow() as uow:
        assert await uow.idempotency.get(user, "race") == written


async def test_deleting_a_project_hands_its_tasks_back_and_removes_its_members(
    tasks_pg_db, tasks_pg_engine
):
    # given a project with a second member and a task assigned to them
    owner, member = _user("owner"), _user("member")
    bus = CommandBus(Deps(uow=tasks_pg_db.uow))
    project = await bus.handle(c.CreateProject(owner, "doomed"))
    await bus.handle(c.SetMember(owner, project.id, member, "editor"))
    values = {"title": "in project", "project_id": project.id, "assignee_id": member}
    task = (await bus.handle(c.CreateTask(owner, values))).task

    # when the project is deleted
    await bus.handle(c.DeleteProject(owner, project.id))

    # then the task is its owner's again, and the project and its members are gone
    async with tasks_pg_db.uow() as uow:
        back = await uow.tasks.get(task.id)
        assert back is not None
        assert (back.project_id, back.assignee_id) == (None, None)
        assert await uow.projects.get(project.id) is None
        assert await uow.projects.role_of(project.id, owner) is None
    members = await _scalar(
        tasks_pg_engine,
        select(func.count()).select_from(t.members).where(t.members.c.project_id == project.id),
    )
    assert members == 0
    assert await _outbox_count(tasks_pg_engine, owner, "tasks.project.deleted.v1") == 1


async def test_membership_changes_bump_the_stored_project_version_their_events_carry(
    tasks_pg_db, tasks_pg_engine
):
    # given a project
    owner, member = _user("owner"), _user("member")
    bus = CommandBus(Deps(uow=tasks_pg_db.uow))
    project = await bus.handle(c.CreateProject(owner, "versioned"))

    # when a member is added, changes role and is removed
    await bus.handle(c.SetMember(owner, project.id, member, "viewer"))
    await bus.handle(c.SetMember(owner, project.id, member, "editor"))
    await bus.handle(c.RemoveMember(owner, project.id, member))

    # then each change committed the next project version with its event
    async with tasks_pg_db.uow() as uow:
        stored = await uow.projects.get(project.id)
    assert stored is not None
    assert stored.version == 4
    data = t.outbox.c.payload["data"]
    async with tasks_pg_engine.connect() as conn:
        rows = await conn.execute(
            select(t.outbox.c.event_type, data["project_version"].as_integer())
            .where(data["project_id"].as_string() == str(project.id))
            .order_by(t.outbox.c.id)
        )
        carried = [(event_type.split(".")[2], version) for event_type, version in rows]
    assert carried == [
        ("member_added", 1),
        ("member_added", 2),
        ("member_added", 3),
        ("member_removed", 4),
    ]


async def test_project_membership_is_read_and_rewritten(tasks_pg_db):
    owner, viewer = _user("owner"), _user("viewer")
    bus = CommandBus(Deps(uow=tasks_pg_db.uow))
    project = await bus.handle(c.CreateProject(owner, "shared", "a description"))
    await bus.handle(c.SetMember(owner, project.id, viewer, "viewer"))
    updated = await bus.handle(c.UpdateProject(owner, project.id, {"name": "renamed"}))

    async with tasks_pg_db.uow() as uow:
        assert (await uow.projects.role_of(project.id, viewer)).value == "viewer"
        loaded = await uow.projects.get(project.id)
    assert loaded is not None
    assert (loaded.name, loaded.description) == ("renamed", "a description")
    assert (loaded.version, loaded.updated_at) == (updated.version, updated.updated_at)
    assert {user: role.value for user, role in loaded.members.items()} == {
        owner: "owner",
        viewer: "viewer",
    }


async def test_a_commit_past_the_statement_parameter_limit_writes_every_row(
    tasks_pg_db, tasks_pg_engine
):
    # given more events than one statement could bind row by row (parameter per value)
    user = _user("bulk")
    now = datetime.now(UTC)
    count = 2_600
    assert count * (len(t.outbox.c) + len(t.activity.c)) > MAX_PARAMS_PER_STATEMENT
    async with tasks_pg_db.uow() as uow:
        for i in range(count):
            task = Task.create(owner_id=user, actor_id=user, now=now, title=f"bulk {i}")
            uow.record(TaskCreated(user, now, task))
        await uow.commit()

    # then every outbox row and every activity row is there
    assert await _outbox_count(tasks_pg_engine, user) == count
    activity = await _scalar(
        tasks_pg_engine,
        select(func.count()).select_from(t.activity).where(t.activity.c.actor_id == user),
    )
    assert activity == count


async def _add_twice(db, user: str) -> None:
    async with db.uow() as uow:
        task = Task.create(owner_id=user, actor_id=user, now=datetime.now(UTC), title="x")
        await uow.tasks.add(task)
        await uow.tasks.add(task)  # the same primary key: the statement fails


async def test_failed_transactions_write_nothing_and_give_their_connection_back(
    tasks_pg_db, tasks_pg_engine
):
    user = _user("failing")
    # more failures than the pool has connections: a connection kept would block the last
    for _ in range(8):
        with pytest.raises(Exception, match="duplicate key"):
            await _add_twice(tasks_pg_db, user)
    bus = CommandBus(Deps(uow=tasks_pg_db.uow))
    await asyncio.wait_for(bus.handle(c.CreateTask(user, {"title": "after"})), 10)

    titles = await _scalar(
        tasks_pg_engine,
        select(func.array_agg(t.tasks.c.title)).where(t.tasks.c.owner_id == user),
    )
    assert titles == ["after"]
    assert await _outbox_count(tasks_pg_engine, user) == 1


async def test_a_rollback_forgets_its_changes_so_a_later_commit_writes_only_its_own(
    tasks_pg_db, tasks_pg_engine
):
    user = _user("rollback")
    async with tasks_pg_db.uow() as uow:
        undone = Task.create(owner_id=user, actor_id=user, now=datetime.now(UTC), title="undone")
        await uow.tasks.add(undone)
        await uow.rollback()
        assert list(uow.tasks.seen) == []
        kept = Task.create(owner_id=user, actor_id=user, now=datetime.now(UTC), title="kept")
        await uow.tasks.add(kept)
        await uow.commit()

    titles = await _scalar(
        tasks_pg_engine,
        select(func.array_agg(t.tasks.c.title)).where(t.tasks.c.owner_id == user),
    )
    assert titles == ["kept"]
    # the kept task's creation only: the rolled-back task's event is not written
    assert await _outbox_count(tasks_pg_engine, user) == 1
