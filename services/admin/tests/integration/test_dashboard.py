"""The dashboard (the admin index) and GET /api/v1/admin/stats: each service's readiness and
figures, a down service shown as down while the page renders, the figures cached briefly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from console_support import signed_in_client
from fake_tasks_api import FakeTasksAdminApi

from taskflow_common.testing import KeycloakRealm, TestUser

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def realm() -> KeycloakRealm:
    return KeycloakRealm()


@pytest.fixture(scope="module")
def admin(realm: KeycloakRealm) -> TestUser:
    return realm.create_user("dash-admin", roles=("user", "admin"))


@pytest.fixture
def services(admin_django: Any) -> Iterator[FakeTasksAdminApi]:
    """tasks answered by the fake, suggest by a fake of its stats, notify down (nothing
    listens on its port): the dashboard's cache emptied before and after."""
    from taskflow_admin.container import container
    from taskflow_admin.dashboard import forget
    from taskflow_admin.upstream import ServiceClient

    tasks = FakeTasksAdminApi(10)

    def suggest(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/readyz":
            return httpx.Response(200, json={"status": "ready"})
        stats = {
            "total": 8,
            "accepted": 3,
            "rejected": 1,
            "acceptance_rate": 0.75,
            "by_source": {"heuristic": {"total": 8, "accepted": 3, "rejected": 1}},
        }
        return httpx.Response(200, json=stats)

    built = container()
    real = dict(built.services)
    built.services = {
        "tasks": ServiceClient("tasks", "http://tasks.test", tasks.client()),
        "notify": ServiceClient("notify", "http://127.0.0.1:9", httpx.Client(timeout=2)),
        "suggest": ServiceClient(
            "suggest", "http://suggest.test", httpx.Client(transport=httpx.MockTransport(suggest))
        ),
    }
    forget()
    yield tasks
    built.services = real
    forget()


def test_the_dashboard_renders_with_a_service_down(
    admin_django: Any, realm: KeycloakRealm, admin: TestUser, services: FakeTasksAdminApi
) -> None:
    page = signed_in_client(realm, admin).get("/admin/")

    assert page.status_code == 200
    text = page.content.decode()
    notify_row = text.split('class="service-notify"')[1].split("</tr>")[0]
    assert "down" in notify_row
    tasks_row = text.split('class="service-tasks"')[1].split("</tr>")[0]
    assert "up" in tasks_row
    assert ">333<" in text  # overdue
    assert text.count("<polyline") == 2  # created and completed, inline SVG
    assert "75 %" in text  # suggestion acceptance
    assert "Audit entries" in text  # Django's own app list stays


def test_the_figures_are_cached_briefly(
    admin_django: Any, realm: KeycloakRealm, admin: TestUser, services: FakeTasksAdminApi
) -> None:
    console = signed_in_client(realm, admin)
    console.get("/admin/")
    asked = len(services.calls)
    console.get("/admin/")

    assert asked == 2  # /readyz and /api/v1/admin/stats
    assert len(services.calls) == asked  # the second page came from the cache


def test_the_stats_api_reports_every_service(
    admin_django: Any, realm: KeycloakRealm, admin: TestUser, services: FakeTasksAdminApi
) -> None:
    from django.test import Client

    bearer = {"HTTP_AUTHORIZATION": f"Bearer {realm.access_token(admin)}"}
    answer = Client().get("/api/v1/admin/stats", **bearer)

    assert answer.status_code == 200
    body = answer.json()["services"]
    assert body["tasks"]["ready"] is True
    assert body["tasks"]["stats"]["overdue"] == 333
    assert body["notify"]["ready"] is False
    assert "unreachable" in body["notify"]["problem"]
    assert body["suggest"]["stats"]["acceptance_rate"] == 0.75
    plain = realm.access_token(realm.create_user("dash-plain"))
    refused = Client().get("/api/v1/admin/stats", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert refused.status_code == 403
