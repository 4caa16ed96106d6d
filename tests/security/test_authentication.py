"""Every operation the merged OpenAPI marks as secured refuses a request without a valid token."""

from __future__ import annotations

import re

import httpx
import pytest

METHODS = ("get", "put", "post", "patch", "delete")
PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"


def _secured_operations(openapi: dict) -> list[tuple[str, str]]:
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", PLACEHOLDER_ID, path))
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if method in METHODS and operation.get("security")
    ]


def test_every_api_operation_is_described_as_secured(openapi):
    unsecured = [
        f"{method.upper()} {path}"
        for path, item in openapi["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
        if method in METHODS and not operation.get("security")
    ]
    assert not unsecured


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer  x y", "Basic dXNlcjpwdw==", "Bearer not-a-jwt", "Token abc"],
)
def test_every_secured_operation_refuses_a_missing_or_malformed_token(
    gateway, openapi, authorization
):
    operations = _secured_operations(openapi)
    assert len(operations) >= 30
    headers = {} if authorization is None else {"Authorization": authorization}
    answered = {}
    with httpx.Client(base_url=gateway, timeout=10) as client:
        for method, path in operations:
            response = client.request(method, path, headers=headers, json={})
            answered[f"{method} {path}"] = response.status_code
            if response.status_code == 401:
                assert response.headers["content-type"].startswith("application/problem+json")
    assert {op: status for op, status in answered.items() if status != 401} == {}
