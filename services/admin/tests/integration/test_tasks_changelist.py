"""The tasks changelist, bulk actions and change form, over the tasks admin API's contract
(a fake of it here, counting calls; the e2e tests run the real tasks service)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from console_support import signed_in_client
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fake_tasks_api import FakeTasksAdminApi

from taskflow_common.testing import KeycloakRealm, TestUser

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def realm() -> KeycloakRealm:
    return KeycloakRealm()


@pytest.fixture(scope="module")
def admin(realm: KeycloakRealm) -> TestUser:
    return realm.create_user("tasks-admin", roles=("user", "admin"))


@pytest.fixture
def fake_tasks(admin_django: Any) -> Iterator[FakeTasksAdminApi]:
    """The console's tasks API pointed at a fake holding 1,000 tasks, for this test."""
    from taskflow_admin.container import container
    from taskflow_admin.upstream import ServiceClient, TasksAdminApi

    fake = FakeTasksAdminApi(1000)
    built = container()
    real = built.tasks
    built.tasks = TasksAdminApi(ServiceClient("tasks", "http://tasks.test", fake.client()))
    yield fake
    built.tasks = real


@pytest.fixture
def console(admin_django: Any, realm: KeycloakRealm, admin: TestUser) -> Any:
    return signed_in_client(realm, admin)


@pytest.mark.parametrize("limit", [25, 200])
def test_a_page_of_the_changelist_costs_one_call_and_a_fixed_number_of_queries(
    console: Any, fake_tasks: FakeTasksAdminApi, limit: int
) -> None:
    with CaptureQueriesContext(connection) as queries:
        page = console.get("/admin/tasks/", {"limit": limit})

    assert page.status_code == 200
    text = page.content.decode()
    assert text.count('name="ids"') == limit
    assert "1000 tasks" in text
    assert len(fake_tasks.calls) == 1
    # The signed-in user is read once; nothing grows with the page's rows.
    assert len(queries) <= 2, [q["sql"] for q in queries.captured_queries]


def test_the_changelist_forwards_the_administrators_own_token(
    console: Any, fake_tasks: FakeTasksAdminApi
) -> None:
    console.get("/admin/tasks/", {"overdue": "true", "priority": "high", "status": "bogus"})

    (call,) = fake_tasks.calls
    assert call.url.params["overdue"] == "true"
    assert call.url.params["priority"] == "high"
    assert "status" not in call.url.params  # not a status: dropped, not forwarded
    assert call.headers["authorization"].startswith("Bearer ey")


def test_next_and_previous_walk_the_cursors(console: Any, fake_tasks: FakeTasksAdminApi) -> None:
    first = console.get("/admin/tasks/", {"limit": 25}).content.decode()
    next_link = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = console.get("/admin/tasks/" + next_link.replace("&amp;", "&")).content.decode()
    assert "Task 0025" in second
    assert "Task 0000" not in second
    back = second.split('rel="prev"')[0].rsplit('href="', 1)[1].split('"')[0]
    again = console.get("/admin/tasks/" + back.replace("&amp;", "&")).content.decode()
    assert "Task 0000" in again
    assert 'rel="prev"' not in again


def test_a_bulk_set_priority_goes_through_the_api_and_is_audited(
    console: Any, fake_tasks: FakeTasksAdminApi, admin: TestUser
) -> None:
    from taskflow_admin.models import AuditEntry

    ids = list(fake_tasks.tasks)[:3]
    missing = "00000000-0000-0000-0000-00000000ffff"

    answer = console.post(
        "/admin/tasks/bulk/",
        {
            "ids": [*ids, missing],
            "action": "set_priority",
            "priority": "urgent",
            "next": "/admin/tasks/?overdue=true",
        },
    )

    assert answer.status_code == 302
    assert answer["location"] == "/admin/tasks/?overdue=true"
    assert {fake_tasks.tasks[i]["priority"] for i in ids} == {"urgent"}
    entry = AuditEntry.objects.filter(action="task.bulk.set_priority").latest("occurred_at")
    assert entry.actor_id == admin.id
    assert entry.after == {"action": "set_priority", "priority": "urgent"}
    assert entry.detail["ids"] == [*ids, missing]
    assert [r["ok"] for r in entry.detail["results"]] == [True, True, True, False]


def _form_data(task: dict[str, Any], **changes: str) -> dict[str, str]:
    """What a browser posts: every field of the form as shown, then the edits."""
    from taskflow_admin.console.tasks import TaskForm

    form = TaskForm(initial=TaskForm.initial_from(task))
    shown = {name: form[name].value() for name in form.fields}
    posted = {k: "" if v is None else str(v) for k, v in shown.items()}
    return {**posted, "etag": f'"{task["version"]}"', **changes}


def test_the_change_form_shows_the_apis_validation_errors(
    console: Any, fake_tasks: FakeTasksAdminApi
) -> None:
    task_id = next(iter(fake_tasks.tasks))
    form = console.get(f"/admin/tasks/{task_id}/")
    assert form.status_code == 200

    refused = console.post(
        f"/admin/tasks/{task_id}/",
        _form_data(fake_tasks.tasks[task_id], title=" "),
    )

    assert refused.status_code == 200
    assert "the title must not be blank" in refused.content.decode()
    assert fake_tasks.tasks[task_id]["title"] == "Task 0000"


def test_a_change_is_saved_with_if_match_and_audited_with_before_and_after(
    console: Any, fake_tasks: FakeTasksAdminApi
) -> None:
    from taskflow_admin.models import AuditEntry

    task_id = list(fake_tasks.tasks)[1]
    before = dict(fake_tasks.tasks[task_id])
    saved = console.post(
        f"/admin/tasks/{task_id}/", _form_data(before, title="Renamed", priority="high")
    )

    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert fake_tasks.tasks[task_id]["title"] == "Renamed"
    entry = AuditEntry.objects.get(action="task.update", target_id=task_id)
    assert entry.before == {"title": "Task 0001", "priority": "low"}
    assert entry.after == {"title": "Renamed", "priority": "high"}
    assert fake_tasks.tasks[task_id]["due_at"] == before["due_at"]  # untouched
    stale = console.post(f"/admin/tasks/{task_id}/", _form_data(before, title="Again"))
    assert "Someone changed this task meanwhile" in stale.content.decode()


def test_an_unreachable_tasks_service_is_shown_not_a_500(console: Any, admin_django: Any) -> None:
    from taskflow_admin.container import container
    from taskflow_admin.upstream import ServiceClient, TasksAdminApi

    built = container()
    real = built.tasks
    built.tasks = TasksAdminApi(ServiceClient("tasks", "http://127.0.0.1:9", real.client._http))
    try:
        page = console.get("/admin/tasks/")
    finally:
        built.tasks = real
    assert page.status_code == 200
    assert "Tasks cannot be listed" in page.content.decode()


def test_the_user_page_counts_their_tasks_by_status(
    console: Any, fake_tasks: FakeTasksAdminApi, realm: KeycloakRealm
) -> None:
    member = realm.create_user("counted")

    page = console.get(f"/admin/users/{member.id}/")

    assert page.status_code == 200
    assert "Tasks by status" in page.content.decode()
    asked = [dict(c.url.params) for c in fake_tasks.calls]
    assert {a["status"] for a in asked} == {"todo", "in_progress", "done", "cancelled"}
    assert {a["owner_id"] for a in asked} == {member.id}
