"""The OpenAPI document notify hands to the gateway is valid and lists every route."""

from __future__ import annotations

from openapi_spec_validator import validate

from taskflow_notify.openapi import document


def test_the_document_is_valid_openapi_3_1_with_every_route() -> None:
    spec = document()
    validate(spec)
    assert set(spec["paths"]) == {
        "/api/v1/notifications",
        "/api/v1/notifications/{notification_id}/read",
        "/api/v1/notifications/read-all",
        "/api/v1/notifications/changes",
        "/api/v1/notifications/preferences",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{webhook_id}",
        "/api/v1/webhooks/{webhook_id}/deliveries",
        "/api/v1/admin/stats",
    }
