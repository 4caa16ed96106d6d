"""Any JSON a caller can send gives a valid request model or a validation error, and a valid
model gives a task or InvalidFields: never another exception (which would be a 500)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from taskflow_tasks.domain.errors import InvalidFields
from taskflow_tasks.domain.model import Project, Task
from taskflow_tasks.domain.reminders import fire_times
from taskflow_tasks.interfaces.http.schemas import (
    BatchRequest,
    MemberIn,
    ProjectCreate,
    ProjectUpdate,
    TaskCreate,
    TaskUpdate,
    to_values,
)

pytestmark = pytest.mark.security
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

huge_ints = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 2**31, 2**63, 10**20, -(10**20), 10**400]),
)
odd_text = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=40).map(lambda t: t + "\x00"),
    st.sampled_from(["\ud800", "a\x00b", "\u202e", "\ufeff", "x" * 25_000, " ", "\n"]),
)
durations = st.one_of(
    st.from_regex(r"\A-?P([0-9]{1,25}[YMWD]){0,3}(T([0-9]{1,25}(\.[0-9])?[HMS]){0,3})?\Z"),
    st.builds(lambda n, u: f"P{n}{u}", huge_ints, st.sampled_from("YMWD")),
    st.builds(lambda n, u: f"PT{n}{u}", huge_ints, st.sampled_from("HMS")),
)
years = st.one_of(st.integers(1, 9999), st.sampled_from([1, 1899, 1900, 9000, 9001, 9999]))
offsets = st.sampled_from(["Z", "+14:00", "-14:00", "+23:59", "-23:59", "", "+00:00"])
timestamps = st.builds(
    lambda y, rest, tz: f"{y:04d}-{rest}{tz}",
    years,
    st.sampled_from(["01-01T00:00:00", "12-31T23:59:59", "02-29T12:00:00", "03-02T09:00:00"]),
    offsets,
)
rules = st.one_of(
    st.builds(
        lambda f, k, v: f"FREQ={f};{k}={v}",
        st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "X"]),
        st.sampled_from(
            [
                "INTERVAL",
                "COUNT",
                "BYHOUR",
                "BYMINUTE",
                "BYMONTHDAY",
                "BYYEARDAY",
                "BYWEEKNO",
                "BYMONTH",
                "BYSETPOS",
                "BYEASTER",
                "UNTIL",
                "WKST",
                "BYDAY",
            ]
        ),
        st.one_of(huge_ints.map(str), st.sampled_from(["MO", "+999MO", "99991231T235959Z", ""])),
    ),
    odd_text,
)
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    huge_ints,
    st.floats(allow_nan=False, allow_infinity=False),
    odd_text,
    durations,
)
deep_json = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=20,
)


def field_values(name: str) -> st.SearchStrategy[Any]:
    targeted: dict[str, st.SearchStrategy[Any]] = {
        "reminders": st.lists(durations, max_size=12),
        "due_at": timestamps,
        "start_at": timestamps,
        "recurrence": rules,
        "position": st.one_of(huge_ints, st.floats(allow_nan=False, allow_infinity=False)),
        "labels": st.lists(odd_text, max_size=25),
    }
    return st.one_of(targeted.get(name, st.nothing()), json_leaf, deep_json)


def bodies(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {}, optional={name: field_values(name) for name in model.model_fields}
    )


def parse(model: type[BaseModel], body: Any) -> BaseModel | None:
    raw = json.dumps(body, allow_nan=False)
    try:
        return model.model_validate_json(raw)
    except ValidationError:
        return None


def _existing_task() -> Task:
    return Task.create(
        owner_id="o", actor_id="o", now=NOW, title="t", due_at=NOW + timedelta(days=30)
    )


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(body=bodies(TaskCreate))
def test_any_task_create_body_is_a_task_or_a_validation_error(body):
    parsed = parse(TaskCreate, body)
    if parsed is None:
        return
    assert isinstance(parsed, TaskCreate)
    try:
        task = Task.create(owner_id="o", actor_id="o", now=NOW, **to_values(parsed, patch=False))
    except InvalidFields:
        return
    fire_times(task.due_at, task.reminders)  # what saving the task computes


@PROPERTY
@given(
    due_at=st.one_of(timestamps, st.just("2027-01-01T00:00:00Z")),
    reminders=st.lists(durations, min_size=1, max_size=12),
    recurrence=st.one_of(st.none(), rules),
)
def test_any_reminders_and_rule_on_a_dated_task_are_a_task_or_invalid(
    due_at, reminders, recurrence
):
    body = {"title": "t", "due_at": due_at, "reminders": reminders, "recurrence": recurrence}
    test_any_task_create_body_is_a_task_or_a_validation_error.hypothesis.inner_test(body)


@PROPERTY
@given(body=bodies(TaskUpdate), complete=st.booleans())
def test_any_task_patch_is_applied_or_a_validation_error(body, complete):
    parsed = parse(TaskUpdate, body)
    if parsed is None:
        return
    assert isinstance(parsed, TaskUpdate)
    task = _existing_task()
    patch = to_values(parsed, patch=True)
    if complete:
        patch["status"] = "done"  # completing spawns the next occurrence of a recurrence
    try:
        spawned = task.apply(patch, actor_id="o", now=NOW)
    except InvalidFields:
        return
    fire_times(task.due_at, task.reminders)
    if spawned is not None:
        fire_times(spawned.due_at, spawned.reminders)


@PROPERTY
@given(
    model=st.sampled_from([BatchRequest, ProjectCreate, ProjectUpdate, MemberIn]),
    data=st.data(),
)
def test_any_other_request_body_is_a_model_or_a_validation_error(model, data):
    body = data.draw(st.one_of(bodies(model), deep_json))
    parsed = parse(model, body)
    if isinstance(parsed, ProjectCreate):
        with contextlib.suppress(InvalidFields):
            Project.create(owner_id="o", name=parsed.name, description=parsed.description, now=NOW)


@pytest.mark.parametrize("depth", [100, 5_000])
def test_deeply_nested_json_is_a_validation_error(depth):
    raw = '{"title": "t", "labels": ' + "[" * depth + "]" * depth + "}"
    with pytest.raises(ValidationError):
        TaskCreate.model_validate_json(raw)
