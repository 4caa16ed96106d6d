"""The SDK against the embedded suite: the same API document, the same behaviour."""

from __future__ import annotations

import httpx
import pytest

from taskflow_sdk import PreconditionFailedError, TaskFlow

from ..conftest import committed_openapi  # type: ignore[import-not-found]

pytestmark = pytest.mark.integration


def test_the_embedded_gateway_serves_every_operation_and_schema_of_the_committed_openapi(
    embedded_gateway: str,
) -> None:
    served = httpx.get(f"{embedded_gateway}/openapi.json", timeout=30).json()
    committed = committed_openapi()

    for path, operations in committed["paths"].items():
        assert served["paths"].get(path) == operations, path
    for name, schema in committed["components"]["schemas"].items():
        assert served["components"]["schemas"].get(name) == schema, name
    # The embedded mode's own identity provider publishes its signing keys; nothing else is
    # the embedded mode's alone.
    assert set(served["paths"]) - set(committed["paths"]) == {"/auth/jwks"}


def test_register_login_create_and_conflict(embedded_gateway: str) -> None:
    with TaskFlow(embedded_gateway) as tf:
        tf.register("ada-sdk", "ada-sdk@example.test", "correct-horse-battery")
        tf.login("ada-sdk", "correct-horse-battery")
        read = tf.tasks.get(str(tf.tasks.create(title="Embedded", priority="high").id))
        tf.tasks.update(read, title="Moved on")

        with pytest.raises(PreconditionFailedError):
            tf.tasks.update(read, title="Stale")
        assert [t.title for t in tf.tasks.iter()] == ["Moved on"]
