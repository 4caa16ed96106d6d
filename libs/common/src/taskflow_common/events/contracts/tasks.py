"""Events published by the tasks service.

Every task event carries the whole task snapshot, so consumers can route to the owner,
the assignee and the project's members without calling back.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from taskflow_common.events.envelope import EventData

TaskStatus = Literal["todo", "in_progress", "done", "cancelled"]
TaskPriority = Literal["none", "low", "medium", "high", "urgent"]
ProjectRole = Literal["viewer", "editor", "owner"]


class TaskSnapshotV1(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    owner_id: str
    project_id: str | None = None
    assignee_id: str | None = None
    parent_id: str | None = None
    title: str
    description: str = ""
    status: TaskStatus
    priority: TaskPriority
    labels: list[str] = Field(default_factory=list)
    due_at: AwareDatetime | None = None
    start_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    version: int
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ProjectSnapshotV1(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    owner_id: str
    name: str
    description: str = ""
    version: int | None = Field(
        default=None,
        description="The project's version after this change; it grows with every change to the "
        "project and its membership. Consumers apply a project or membership event only when it "
        "is newer than what they hold (events arrive in no guaranteed order). Absent from "
        "events produced before it was added.",
    )
    created_at: AwareDatetime
    updated_at: AwareDatetime


class TaskCreatedV1(EventData):
    EVENT_TYPE = "tasks.task.created.v1"
    task: TaskSnapshotV1


class TaskUpdatedV1(EventData):
    EVENT_TYPE = "tasks.task.updated.v1"
    task: TaskSnapshotV1
    changed_fields: list[str]
    changes: dict[str, list[Any]] = Field(
        default_factory=dict, description="field -> [old, new] for each changed field"
    )


class TaskCompletedV1(EventData):
    EVENT_TYPE = "tasks.task.completed.v1"
    task: TaskSnapshotV1
    next_occurrence_id: str | None = None


class TaskDeletedV1(EventData):
    EVENT_TYPE = "tasks.task.deleted.v1"
    task: TaskSnapshotV1


class TaskRestoredV1(EventData):
    """The task came back from the trash (added after v1 shipped: additive)."""

    EVENT_TYPE = "tasks.task.restored.v1"
    task: TaskSnapshotV1


class TaskAssignedV1(EventData):
    EVENT_TYPE = "tasks.task.assigned.v1"
    task: TaskSnapshotV1
    previous_assignee_id: str | None = None


class TaskDueSoonV1(EventData):
    EVENT_TYPE = "tasks.task.due_soon.v1"
    task: TaskSnapshotV1
    reminder: str = Field(description="the ISO 8601 offset before due_at, e.g. PT30M")
    remind_at: AwareDatetime


class TaskOverdueV1(EventData):
    EVENT_TYPE = "tasks.task.overdue.v1"
    task: TaskSnapshotV1


class ProjectCreatedV1(EventData):
    EVENT_TYPE = "tasks.project.created.v1"
    project: ProjectSnapshotV1


class ProjectUpdatedV1(EventData):
    EVENT_TYPE = "tasks.project.updated.v1"
    project: ProjectSnapshotV1
    changed_fields: list[str] = Field(default_factory=list)


class ProjectDeletedV1(EventData):
    EVENT_TYPE = "tasks.project.deleted.v1"
    project: ProjectSnapshotV1


def _project_version() -> Any:
    """The membership events' `project_version` field (one definition, one description)."""
    return Field(
        default=None,
        description="The project's version after this change; it grows with every change to the "
        "project and its membership. Consumers apply a project or membership event only when it "
        "is newer than what they hold (events arrive in no guaranteed order). Absent from "
        "events produced before it was added.",
    )


class ProjectMemberAddedV1(EventData):
    EVENT_TYPE = "tasks.project.member_added.v1"
    project_id: str
    user_id: str
    role: ProjectRole
    project_version: int | None = _project_version()


class ProjectMemberRemovedV1(EventData):
    EVENT_TYPE = "tasks.project.member_removed.v1"
    project_id: str
    user_id: str
    project_version: int | None = _project_version()


TASKS_EVENTS: tuple[type[EventData], ...] = (
    TaskCreatedV1,
    TaskUpdatedV1,
    TaskCompletedV1,
    TaskDeletedV1,
    TaskRestoredV1,
    TaskAssignedV1,
    TaskDueSoonV1,
    TaskOverdueV1,
    ProjectCreatedV1,
    ProjectUpdatedV1,
    ProjectDeletedV1,
    ProjectMemberAddedV1,
    ProjectMemberRemovedV1,
)
