"""The Project aggregate: sharing tasks with members in roles."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from taskflow_common.ids import uuid7
from taskflow_tasks.domain import events
from taskflow_tasks.domain.errors import Conflict, FieldViolation, InvalidFields

NAME_MAX = 200
DESCRIPTION_MAX = 10_000


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"

    @property
    def can_write(self) -> bool:
        return self in (Role.EDITOR, Role.OWNER)


@dataclass(slots=True)
class Project:
    id: UUID
    owner_id: str
    name: str
    description: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    version: int = 1
    members: dict[str, Role] = field(default_factory=dict)
    events: list[events.DomainEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def create(cls, *, owner_id: str, name: Any, description: Any, now: datetime) -> Project:
        problems = _project_problems(name, description)
        if problems:
            raise InvalidFields(problems)
        project = cls(
            id=uuid7(),
            owner_id=owner_id,
            name=name.strip(),
            description=description or "",
            created_at=now,
            updated_at=now,
            members={owner_id: Role.OWNER},
        )
        project.events.append(events.ProjectCreated(owner_id, now, project.snapshot()))
        project.events.append(
            events.MemberAdded(owner_id, now, str(project.id), owner_id, Role.OWNER.value, 1)
        )
        return project

    def snapshot(self) -> Project:
        return replace(self, members=dict(self.members), events=[])

    def role_of(self, user_id: str) -> Role | None:
        return self.members.get(user_id)

    def update(self, patch: dict[str, Any], *, actor_id: str, now: datetime) -> None:
        name = patch.get("name", self.name)
        description = patch.get("description", self.description)
        problems = _project_problems(name, description)
        if problems:
            raise InvalidFields(problems)
        new = {"name": name.strip(), "description": description or ""}
        changed = tuple(k for k, v in new.items() if getattr(self, k) != v)
        if not changed:
            return
        for key in changed:
            setattr(self, key, new[key])
        self.version += 1
        self.updated_at = now
        self.events.append(events.ProjectUpdated(actor_id, now, self.snapshot(), changed))

    def set_member(self, user_id: str, role: Role, *, actor_id: str, now: datetime) -> bool:
        """Add a member or change their role. True when a member was added (not changed)."""
        previous = self.members.get(user_id)
        if previous == role:
            return False
        if previous is Role.OWNER and role is not Role.OWNER:
            self._keep_an_owner(user_id)
        self.members[user_id] = role
        # Every membership change is a new version of the project (the row is locked while it
        # changes): consumers order membership events by it, whatever order they arrive in.
        self.version += 1
        self.updated_at = now
        self.events.append(
            events.MemberAdded(actor_id, now, str(self.id), user_id, role.value, self.version)
        )
        return previous is None

    def remove_member(self, user_id: str, *, actor_id: str, now: datetime) -> None:
        role = self.members.get(user_id)
        if role is None:
            return
        if role is Role.OWNER:
            self._keep_an_owner(user_id)
        del self.members[user_id]
        self.version += 1
        self.updated_at = now
        self.events.append(events.MemberRemoved(actor_id, now, str(self.id), user_id, self.version))

    def delete(self, *, actor_id: str, now: datetime) -> None:
        self.version += 1
        self.events.append(events.ProjectDeleted(actor_id, now, self.snapshot()))

    def _keep_an_owner(self, leaving: str) -> None:
        owners = [u for u, r in self.members.items() if r is Role.OWNER and u != leaving]
        if not owners:
            raise Conflict("a project keeps at least one owner")


def _project_problems(name: Any, description: Any) -> list[FieldViolation]:
    problems = []
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= NAME_MAX:
        problems.append(FieldViolation("name", f"must be 1 to {NAME_MAX} characters"))
    if description is not None and (
        not isinstance(description, str) or len(description) > DESCRIPTION_MAX
    ):
        problems.append(
            FieldViolation("description", f"must be at most {DESCRIPTION_MAX} characters")
        )
    return problems
