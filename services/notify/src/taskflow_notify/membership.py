"""The project read model (members, deletion) that routing shared-project events needs.

Events arrive in no guaranteed order (concurrent deliveries, retries, several relays and
consumers), so every `tasks.project.*` event first locks its project's row — events about one
project apply one at a time — and then changes a membership only when it is newer than the
change that membership last took (`ordering.is_newer`, on the project version tasks stamps on
every project and membership change). Removed members and deleted projects stay as tombstones
holding the version of their removal, so a late `member_added` loses to them (ADR 0304).
"""

from __future__ import annotations

from taskflow_common.events.contracts.tasks import (
    ProjectCreatedV1,
    ProjectDeletedV1,
    ProjectMemberAddedV1,
    ProjectMemberRemovedV1,
    ProjectUpdatedV1,
)
from taskflow_common.events.envelope import EventData
from taskflow_notify.models import ProjectMember, ProjectReadModel
from taskflow_notify.ordering import UNVERSIONED, is_newer

AccessChange = tuple[str, dict[str, object]]  # (user, {"project_id", "access"})


def membership_apply(data: EventData) -> list[AccessChange]:
    """Apply a `tasks.project.*` event inside the caller's transaction; others are ignored.

    Returns who really gained or lost sight of the project's tasks by this event (nobody when
    it was stale or redelivered), for their change feeds: a client told `access.changed`
    refetches that project's tasks.
    """
    if isinstance(data, ProjectCreatedV1 | ProjectUpdatedV1):
        _project_record(data)
    elif isinstance(data, ProjectDeletedV1):
        return _project_delete(data)
    elif isinstance(data, ProjectMemberAddedV1 | ProjectMemberRemovedV1):
        return _member_apply(data)
    return []


def _project_record(data: ProjectCreatedV1 | ProjectUpdatedV1) -> None:
    project = _locked_project(data.project.id)
    if project.deleted:
        return  # a deleted project never comes back (tasks never reuses its id)
    # The owner never changes, so whichever of these events comes first may record it.
    project.owner_id = data.project.owner_id
    project.version = max(project.version, data.project.version or UNVERSIONED)
    project.save()


def _project_delete(data: ProjectDeletedV1) -> list[AccessChange]:
    project = _locked_project(data.project.id)
    if project.deleted:
        return []
    members = ProjectMember.objects.filter(project_id=project.project_id)
    lost = sorted(members.filter(active=True).values_list("user_id", flat=True))
    project.deleted = True
    project.version = max(project.version, data.project.version or UNVERSIONED)
    project.save()
    members.delete()  # the project's tombstone now outranks every membership event
    return [(user, _access(project.project_id, "lost")) for user in lost]


def _member_apply(data: ProjectMemberAddedV1 | ProjectMemberRemovedV1) -> list[AccessChange]:
    project = _locked_project(data.project_id)
    if project.deleted:
        return []
    member = ProjectMember.objects.filter(
        project_id=data.project_id, user_id=data.user_id
    ).first() or ProjectMember(
        project_id=data.project_id, user_id=data.user_id, version=UNVERSIONED, active=False
    )
    if not is_newer(data.project_version, member.version):
        return []  # stale or redelivered: a newer change to this membership is applied
    was_active = member.active
    added = isinstance(data, ProjectMemberAddedV1)
    member.active = added
    if isinstance(data, ProjectMemberAddedV1):
        member.role = data.role
    # A removal seen before its addition is stored too: the tombstone the addition loses to.
    member.version = data.project_version or UNVERSIONED
    member.save()
    if added and not was_active:
        return [(data.user_id, _access(data.project_id, "gained"))]
    if was_active and not added:
        return [(data.user_id, _access(data.project_id, "lost"))]
    return []  # a role change, or a removal of someone who was not a member


def _locked_project(project_id: str) -> ProjectReadModel:
    """The project's row, created empty if no event about it came yet, locked until commit."""
    ProjectReadModel.objects.bulk_create(
        [ProjectReadModel(project_id=project_id)], ignore_conflicts=True
    )
    return ProjectReadModel.objects.select_for_update().get(project_id=project_id)


def _access(project_id: str, access: str) -> dict[str, object]:
    return {"project_id": project_id, "access": access}
