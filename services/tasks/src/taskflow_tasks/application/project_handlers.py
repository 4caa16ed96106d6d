"""Project command handlers: create, update, delete, and membership."""

from __future__ import annotations

from uuid import UUID

from taskflow_tasks.application import commands as c
from taskflow_tasks.application.deps import Deps
from taskflow_tasks.application.ports import UnitOfWork
from taskflow_tasks.domain.errors import FieldViolation, Forbidden, InvalidFields, NotFound
from taskflow_tasks.domain.model import Project, Role


async def create_project(cmd: c.CreateProject, deps: Deps) -> Project:
    async with deps.uow() as uow:
        project = Project.create(
            owner_id=cmd.actor_id, name=cmd.name, description=cmd.description, now=deps.clock()
        )
        await uow.projects.add(project)
        await uow.commit()
        return project


async def update_project(cmd: c.UpdateProject, deps: Deps) -> Project:
    async with deps.uow() as uow:
        project = await _managed_project(uow, cmd.actor_id, cmd.project_id)
        project.update(cmd.patch, actor_id=cmd.actor_id, now=deps.clock())
        await uow.projects.save(project)
        await uow.commit()
        return project


async def delete_project(cmd: c.DeleteProject, deps: Deps) -> None:
    """The project goes; its tasks go back to their owners as personal tasks."""
    now = deps.clock()
    async with deps.uow() as uow:
        project = await _managed_project(uow, cmd.actor_id, cmd.project_id)
        for task in await uow.tasks.in_project(project.id):
            task.detach_from_project(actor_id=cmd.actor_id, now=now)
            await uow.tasks.save(task)
        for user_id in list(project.members):
            if project.members[user_id] is not Role.OWNER:
                project.remove_member(user_id, actor_id=cmd.actor_id, now=now)
        project.delete(actor_id=cmd.actor_id, now=now)
        await uow.projects.delete(project)
        await uow.commit()


async def set_member(cmd: c.SetMember, deps: Deps) -> c.MemberSet:
    try:
        role = Role(cmd.role)
    except ValueError:
        raise InvalidFields([FieldViolation("role", "must be viewer, editor or owner")]) from None
    async with deps.uow() as uow:
        project = await _managed_project(uow, cmd.actor_id, cmd.project_id)
        added = project.set_member(cmd.user_id, role, actor_id=cmd.actor_id, now=deps.clock())
        await uow.projects.save(project)
        await uow.commit()
        return c.MemberSet(project, added)


async def remove_member(cmd: c.RemoveMember, deps: Deps) -> None:
    """Owners remove anyone; any member may remove themselves (leave the project)."""
    async with deps.uow() as uow:
        project = await uow.projects.get(cmd.project_id)
        role = project.role_of(cmd.actor_id) if project else None
        if project is None or role is None:
            raise NotFound("no such project")
        if cmd.actor_id != cmd.user_id and role is not Role.OWNER:
            raise Forbidden("only owners manage members")
        if cmd.user_id not in project.members:
            raise NotFound("no such member")
        now = deps.clock()
        project.remove_member(cmd.user_id, actor_id=cmd.actor_id, now=now)
        for task in await uow.tasks.in_project(project.id):
            if task.assignee_id == cmd.user_id and task.owner_id != cmd.user_id:
                task.apply({"assignee_id": None}, actor_id=cmd.actor_id, now=now)
                await uow.tasks.save(task)
        await uow.projects.save(project)
        await uow.commit()


async def _managed_project(uow: UnitOfWork, actor_id: str, project_id: UUID) -> Project:
    project = await uow.projects.get(project_id)
    role = project.role_of(actor_id) if project else None
    if project is None or role is None:
        raise NotFound("no such project")
    if role is not Role.OWNER:
        raise Forbidden("only the project's owners may change it")
    return project
