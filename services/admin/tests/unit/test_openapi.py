"""The admin OpenAPI document is valid."""

from __future__ import annotations

from openapi_spec_validator import validate

from taskflow_admin.openapi import document


def test_the_document_is_valid_openapi_3_1() -> None:
    spec = document()
    validate(spec)
    assert {"/api/v1/admin/", "/api/v1/admin/audit", "/api/v1/admin/users"} <= set(spec["paths"])
