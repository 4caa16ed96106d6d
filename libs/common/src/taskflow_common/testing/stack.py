"""Where the local stack's components listen (DESIGN §6), and a loud check that they do."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class StackEndpoint:
    component: str
    host: str
    port: int


STACK = {
    "postgres": StackEndpoint("postgres", "127.0.0.1", 55432),
    "redis": StackEndpoint("redis", "127.0.0.1", 56379),
    "rabbitmq": StackEndpoint("rabbitmq", "127.0.0.1", 55672),
    "rabbitmq-management": StackEndpoint("rabbitmq", "127.0.0.1", 15672),
    "keycloak": StackEndpoint("keycloak", "127.0.0.1", 8180),
    "mailpit-smtp": StackEndpoint("mailpit", "127.0.0.1", 1025),
    "mailpit": StackEndpoint("mailpit", "127.0.0.1", 8025),
    "jaeger-otlp": StackEndpoint("jaeger", "127.0.0.1", 4317),
    "jaeger": StackEndpoint("jaeger", "127.0.0.1", 16686),
}

DATABASE_URL = os.environ.get(
    "TASKFLOW_TEST_DATABASE_URL", "postgresql://taskflow:taskflow@127.0.0.1:55432/taskflow"
)
REDIS_URL = os.environ.get("TASKFLOW_TEST_REDIS_URL", "redis://127.0.0.1:56379/0")
AMQP_URL = os.environ.get("TASKFLOW_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:55672/")
KEYCLOAK_URL = os.environ.get("TASKFLOW_TEST_KEYCLOAK_URL", "http://127.0.0.1:8180")


def require_component(name: str, timeout: float = 2.0) -> StackEndpoint:
    """Fail the test (never skip) when a stack component is not listening."""
    endpoint = STACK[name]
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout):
            pass
    except OSError as exc:
        pytest.fail(
            f"{name} is not reachable on {endpoint.host}:{endpoint.port} ({exc}). "
            f"Start it with `scripts/stack up {endpoint.component}` (or `make test`, "
            "which starts the whole stack).",
            pytrace=False,
        )
    return endpoint
