"""What the admin process's composition root built: its adapters, found by the views."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps

from taskflow_admin.directory import UserDirectory
from taskflow_admin.upstream import ServiceClient, TasksAdminApi


@dataclass
class AdminContainer:
    directory: UserDirectory
    tasks: TasksAdminApi
    # Every service the dashboard reports on, by name (tasks, notify, suggest).
    services: dict[str, ServiceClient]


def container() -> AdminContainer:
    built: AdminContainer | None = getattr(apps.get_app_config("taskflow_admin"), "container", None)
    if built is None:
        raise RuntimeError("the admin service's bootstrap.configure() has not run")
    return built
