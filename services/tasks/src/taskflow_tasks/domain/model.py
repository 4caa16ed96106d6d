"""The Task and Project aggregates and their invariants."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from taskflow_common.ids import uuid7
from taskflow_tasks.domain import events
from taskflow_tasks.domain.errors import FieldViolation, InvalidFields
from taskflow_tasks.domain.project import Project, Role  # re-exported: the whole model
from taskflow_tasks.domain.recurrence import InvalidRecurrence, next_occurrence, normalize_rule
from taskflow_tasks.domain.reminders import normalize_reminders

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
LABELS_MAX = 20
LABEL_MAX = 50


class Status(StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset({Status.TODO, Status.IN_PROGRESS})


class Priority(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _PRIORITY_RANKS[self]

    @classmethod
    def from_rank(cls, rank: int) -> Priority:
        return _PRIORITIES_BY_RANK[rank]


_PRIORITY_RANKS = {p: i for i, p in enumerate(Priority)}
_PRIORITIES_BY_RANK = dict(enumerate(Priority))


# Fields a caller may set on create or change with a merge patch.
EDITABLE_FIELDS = (
    "title",
    "description",
    "status",
    "priority",
    "due_at",
    "start_at",
    "labels",
    "project_id",
    "assignee_id",
    "parent_id",
    "recurrence",
    "reminders",
    "position",
)


@dataclass(slots=True)
class Task:
    id: UUID
    owner_id: str
    title: str
    description: str = ""
    status: Status = Status.TODO
    priority: Priority = Priority.NONE
    due_at: datetime | None = None
    start_at: datetime | None = None
    completed_at: datetime | None = None
    labels: tuple[str, ...] = ()
    project_id: UUID | None = None
    assignee_id: str | None = None
    parent_id: UUID | None = None
    recurrence: str | None = None
    reminders: tuple[str, ...] = ()
    position: float = 0.0
    version: int = 1
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    deleted_at: datetime | None = None
    # Internal: where the recurrence series started (COUNT/UNTIL count from here), and the
    # occurrence already spawned by completing this one (so re-completing spawns no twin).
    series_start: datetime | None = None
    next_occurrence_id: UUID | None = None
    events: list[events.DomainEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def create(cls, *, owner_id: str, actor_id: str, now: datetime, **values: Any) -> Task:
        """A new task from caller input; raises InvalidFields listing every broken rule."""
        unknown = set(values) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidFields([FieldViolation(f, "unknown field") for f in sorted(unknown)])
        task = cls(id=uuid7(), owner_id=owner_id, title="", created_at=now, updated_at=now)
        state = _validated({**_defaults(), **values}, previous=None)
        due = state["due_at"]
        if due is not None and due < now:
            raise InvalidFields.one("due_at", "must not be in the past")
        for name, value in state.items():
            setattr(task, name, value)
        if task.status is Status.DONE:
            task.completed_at = now
        if task.recurrence is not None:
            task.series_start = task.due_at or task.start_at or now
        snapshot = task.snapshot()
        task.events.append(events.TaskCreated(actor_id, now, snapshot))
        if task.assignee_id is not None:
            task.events.append(events.TaskAssigned(actor_id, now, snapshot, None))
        return task

    def snapshot(self) -> Task:
        """A detached copy for events (later changes to self do not leak into it)."""
        return replace(self, events=[])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < now

    def apply(self, patch: dict[str, Any], *, actor_id: str, now: datetime) -> Task | None:
        """Apply a merge patch (already type-checked). Returns the next occurrence it spawned.

        Records TaskUpdated (with field -> (old, new)), TaskAssigned and TaskCompleted as they
        apply. A patch that changes nothing changes nothing, not even the version.
        """
        unknown = set(patch) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidFields([FieldViolation(f, "unknown field") for f in sorted(unknown)])
        current = {name: getattr(self, name) for name in EDITABLE_FIELDS}
        state = _validated({**current, **patch}, previous=current)
        changes = {
            name: (current[name], state[name])
            for name in EDITABLE_FIELDS
            if state[name] != current[name]
        }
        if not changes:
            return None
        for name, (_old, new) in changes.items():
            setattr(self, name, new)
        if "recurrence" in changes or ("due_at" in changes and self.recurrence is not None):
            self.series_start = (
                None if self.recurrence is None else self.due_at or self.start_at or now
            )
        spawned: Task | None = None
        if "status" in changes:
            if self.status is Status.DONE:
                changes["completed_at"] = (self.completed_at, now)
                self.completed_at = now
                spawned = self._spawn_next_occurrence(actor_id, now)
            elif self.completed_at is not None:
                changes["completed_at"] = (self.completed_at, None)
                self.completed_at = None
        self.version += 1
        self.updated_at = now
        snap = self.snapshot()
        self.events.append(events.TaskUpdated(actor_id, now, snap, changes))
        if "assignee_id" in changes and self.assignee_id is not None:
            previous = changes["assignee_id"][0]
            self.events.append(events.TaskAssigned(actor_id, now, snap, previous))
        if "status" in changes and self.status is Status.DONE:
            spawned_id = str(spawned.id) if spawned else None
            self.events.append(events.TaskCompleted(actor_id, now, snap, spawned_id))
        return spawned

    def delete(self, *, actor_id: str, now: datetime) -> None:
        if self.deleted_at is not None:
            return
        self.deleted_at = now
        self.version += 1
        self.updated_at = now
        self.events.append(events.TaskDeleted(actor_id, now, self.snapshot()))

    def restore(self, *, actor_id: str, now: datetime) -> None:
        if self.deleted_at is None:
            return
        self.deleted_at = None
        self.version += 1
        self.updated_at = now
        self.events.append(events.TaskRestored(actor_id, now, self.snapshot()))

    def detach_from_project(self, *, actor_id: str, now: datetime) -> None:
        """The project is gone: the task goes back to its owner as a personal task."""
        patch: dict[str, Any] = {"project_id": None}
        if self.assignee_id not in (None, self.owner_id):
            patch["assignee_id"] = None
        self.apply(patch, actor_id=actor_id, now=now)

    def _spawn_next_occurrence(self, actor_id: str, now: datetime) -> Task | None:
        if self.recurrence is None or self.next_occurrence_id is not None:
            return None
        anchor = self.due_at or self.start_at or self.created_at
        series_start = self.series_start or anchor
        following = next_occurrence(self.recurrence, series_start=series_start, after=anchor)
        if following is None:
            return None
        shift = following - anchor
        occurrence = Task(
            id=uuid7(),
            owner_id=self.owner_id,
            title=self.title,
            description=self.description,
            priority=self.priority,
            due_at=self.due_at + shift if self.due_at else None,
            start_at=self.start_at + shift if self.start_at else None,
            labels=self.labels,
            project_id=self.project_id,
            assignee_id=self.assignee_id,
            parent_id=self.parent_id,
            recurrence=self.recurrence,
            reminders=self.reminders,
            position=self.position,
            created_at=now,
            updated_at=now,
            series_start=series_start,
        )
        occurrence.events.append(events.TaskCreated(actor_id, now, occurrence.snapshot()))
        self.next_occurrence_id = occurrence.id
        return occurrence


def _defaults() -> dict[str, Any]:
    return {
        "description": "",
        "status": Status.TODO,
        "priority": Priority.NONE,
        "due_at": None,
        "start_at": None,
        "labels": (),
        "project_id": None,
        "assignee_id": None,
        "parent_id": None,
        "recurrence": None,
        "reminders": (),
        "position": 0.0,
    }


def _validated(state: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """Check and normalise a whole task state; collect every violation before raising."""
    out = dict(state)
    problems: list[FieldViolation] = []

    def check(name: str, fn: Any) -> None:
        try:
            out[name] = fn(out[name])
        except (ValueError, TypeError) as exc:
            problems.append(FieldViolation(name, str(exc)))

    check("title", normalize_title)
    check("description", _description)
    check("status", lambda v: Status(v))
    check("priority", lambda v: Priority(v))
    check("due_at", _utc)
    check("start_at", _utc)
    check("labels", normalize_labels)
    check("reminders", lambda v: normalize_reminders(tuple(v or ())))
    check("position", _position)
    if out.get("assignee_id") is not None:
        check("assignee_id", _user_id)
    if not problems:
        due, start = out["due_at"], out["start_at"]
        if due is not None and start is not None and start > due:
            problems.append(FieldViolation("start_at", "must not be after due_at"))
        if out["reminders"] and due is None:
            problems.append(FieldViolation("reminders", "reminders require due_at"))
        rule = out["recurrence"]
        if rule is not None and (previous is None or rule != previous["recurrence"]):
            anchor = due or start or datetime.now(UTC)
            try:
                out["recurrence"] = normalize_rule(rule, anchor)
            except InvalidRecurrence as exc:
                problems.append(FieldViolation("recurrence", str(exc)))
    if problems:
        raise InvalidFields(problems)
    return out


def normalize_title(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("must be a string")
    title = value.strip()
    if not 1 <= len(title) <= TITLE_MAX:
        raise ValueError(f"must be 1 to {TITLE_MAX} characters after trimming")
    return title


def normalize_labels(values: Any) -> tuple[str, ...]:
    """Trimmed, non-empty, at most 50 chars each, case-insensitively unique (first kept)."""
    kept: dict[str, str] = {}
    for raw in values or ():
        if not isinstance(raw, str):
            raise TypeError("labels must be strings")
        label = raw.strip()
        if not label:
            raise ValueError("labels must not be empty")
        if len(label) > LABEL_MAX:
            raise ValueError(f"labels are at most {LABEL_MAX} characters")
        kept.setdefault(label.casefold(), label)
    if len(kept) > LABELS_MAX:
        raise ValueError(f"at most {LABELS_MAX} labels")
    return tuple(kept.values())


def label_key(label: str) -> str:
    return label.strip().casefold()


def _description(value: Any) -> str:
    text = "" if value is None else value
    if not isinstance(text, str):
        raise TypeError("must be a string")
    if len(text) > DESCRIPTION_MAX:
        raise ValueError(f"must be at most {DESCRIPTION_MAX} characters")
    return text


# Far enough for any plan; near the ends of datetime's range, offsets and reminders overflow.
EARLIEST_YEAR, LATEST_YEAR = 1900, 9000


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("must carry a UTC offset (RFC 3339)")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value.astimezone(UTC)


def _position(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def _user_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise ValueError("must be a user id")
    return value


__all__ = [
    "EDITABLE_FIELDS",
    "OPEN_STATUSES",
    "Priority",
    "Project",
    "Role",
    "Status",
    "Task",
    "label_key",
    "normalize_labels",
    "normalize_title",
]
