"""The console over the real tasks service (its admin API on its own port, a database of its
own): a user's overdue tasks found by the changelist's filter, a bulk set priority through the
console seen in the task API by their owner, and the audit entry of it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from console_support import signed_in_client
from support import free_port, serve_module

from taskflow_common.testing import KeycloakRealm, require_component
from taskflow_common.testing.stack import DATABASE_URL

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tasks_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_component("postgres")
    require_component("rabbitmq")
    name = f"admin_tasks_test_{secrets.token_hex(4)}"
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database = DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    env = {**os.environ, "TASKFLOW_DATABASE_URL": database, "OTEL_SDK_DISABLED": "true"}
    subprocess.run([sys.executable, "-m", "taskflow_tasks", "migrate"], env=env, check=True)
    log = tmp_path_factory.mktemp("tasks") / "tasks.log"
    yield from serve_module(
        "taskflow_tasks", free_port(), Path(log), TASKFLOW_DATABASE_URL=database
    )
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def real_tasks(admin_django: Any, tasks_url: str) -> Iterator[None]:
    from taskflow_admin.container import container
    from taskflow_admin.upstream import ServiceClient, TasksAdminApi

    built = container()
    previous = built.tasks
    built.tasks = TasksAdminApi(ServiceClient("tasks", tasks_url, httpx.Client(timeout=10)))
    yield
    built.tasks = previous


def test_a_bulk_set_priority_on_overdue_tasks_reaches_the_task_api(
    real_tasks: None, tasks_url: str
) -> None:
    from taskflow_admin.models import AuditEntry

    realm = KeycloakRealm()
    admin = realm.create_user("real-admin", roles=("user", "admin"))
    owner = realm.create_user("real-owner")
    owner_api = {"Authorization": f"Bearer {realm.access_token(owner)}"}
    # A due date cannot be set in the past: these fall due in a moment.
    past = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    created = [
        httpx.post(
            f"{tasks_url}/api/v1/tasks",
            json={"title": f"{title} {secrets.token_hex(3)}", "due_at": due, "priority": "low"},
            headers=owner_api,
        )
        for title, due in (("late one", past), ("late two", past), ("on time", future))
    ]
    assert all(r.status_code == 201 for r in created), [r.text for r in created]
    late = [r.json()["id"] for r in created[:2]]
    on_time = created[2].json()["id"]
    time.sleep(2.5)
    console = signed_in_client(realm, admin)

    page = console.get("/admin/tasks/", {"overdue": "true", "owner_id": owner.id})
    assert page.status_code == 200
    shown = page.content.decode()
    assert all(task_id in shown for task_id in late)
    assert on_time not in shown

    answer = console.post(
        "/admin/tasks/bulk/",
        {"ids": late, "action": "set_priority", "priority": "urgent", "next": "/admin/tasks/"},
    )

    assert answer.status_code == 302
    for task_id in late:
        task = httpx.get(f"{tasks_url}/api/v1/tasks/{task_id}", headers=owner_api).json()
        assert task["priority"] == "urgent"
    untouched = httpx.get(f"{tasks_url}/api/v1/tasks/{on_time}", headers=owner_api).json()
    assert untouched["priority"] == "low"
    entry = AuditEntry.objects.filter(action="task.bulk.set_priority", actor_id=admin.id).get()
    assert [r["ok"] for r in entry.detail["results"]] == [True, True]
