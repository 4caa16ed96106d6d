"""The proxied traffic's route labels stay few, whatever paths clients send."""

from __future__ import annotations

from taskflow_auth_gateway.domain.routes import Route
from taskflow_auth_gateway.interfaces.http.route_templates import RouteTemplates, template_of

TASKS = Route("/api/v1/tasks", "tasks")


def test_identifiers_become_placeholders() -> None:
    assert template_of("/api/v1/tasks/0b7e1f52-5c8e-4a55-9d1c-2f5e0c7a9b11/activity") == (
        "/api/v1/tasks/{id}/activity"
    )
    assert template_of("/api/v1/tasks/42") == "/api/v1/tasks/{id}"
    assert template_of("/api/v1/tasks/export.ics") == "/api/v1/tasks/export.ics"


def test_a_template_is_learnt_only_from_an_answer_the_upstream_served() -> None:
    templates = RouteTemplates()
    assert templates.label(TASKS, "/api/v1/tasks/wp-login.php", 404) == "/api/v1/tasks*"
    assert templates.label(TASKS, "/api/v1/tasks/42", 200) == "/api/v1/tasks/{id}"
    # Once learnt, its failures are counted under it too.
    assert templates.label(TASKS, "/api/v1/tasks/43", 412) == "/api/v1/tasks/{id}"


def test_the_number_of_templates_is_bounded() -> None:
    templates = RouteTemplates(limit=3)
    labels = {templates.label(TASKS, f"/api/v1/tasks/by-name/n{i}", 200) for i in range(100)}
    assert len(labels) == 4  # three learnt, then everything under the gateway route
    assert "/api/v1/tasks*" in labels
