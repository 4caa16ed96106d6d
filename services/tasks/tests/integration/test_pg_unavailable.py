"""The database unreachable for a while answers 503 problem+json with Retry-After, never 500,
and the service recovers by itself once the database is back.

Real PostgreSQL: the connections the app holds are terminated by the server
(`pg_terminate_backend`, what a restart does to them), and a database on a port nothing
listens on stands for one still down.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from taskflow_common.testing.stack import DATABASE_URL

OPERATIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/v1/tasks", {}),
    ("GET", "/api/v1/labels", {}),
    ("GET", "/api/v1/projects", {}),
    ("POST", "/api/v1/tasks", {"json": {"title": "while the database is away"}}),
]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _terminate_backends(database: str) -> int:
    admin = await asyncpg.connect(DATABASE_URL)
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
        return len(rows)
    finally:
        await admin.close()


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "2"
    assert response.json()["type"].endswith("/unavailable")


async def test_a_database_that_is_down_answers_503(
    tasks_pg_url: str,
    tasks_jwks: dict[str, Any],
    tasks_settings_for: Callable[..., Any],
    serve_tasks_app: Callable[..., Any],
    users_for: Callable[..., Any],
) -> None:
    down = make_url(tasks_pg_url).set(port=_closed_port()).render_as_string(hide_password=False)
    settings = tasks_settings_for(down, auto_migrate=False)
    async with serve_tasks_app(settings, tasks_jwks) as client:
        user = users_for(client)
        for method, path, kwargs in OPERATIONS:
            _assert_unavailable(await user.request(method, path, **kwargs))


async def test_connections_the_server_dropped_give_503_at_worst_then_recover(
    tasks_pg_url: str, tasks_client: httpx.AsyncClient, make_user: Callable[[], Any]
) -> None:
    user = make_user()
    await user.create_task(title="before")
    for method, path, kwargs in OPERATIONS:  # every pool holds a connection now
        assert (await user.request(method, path, **kwargs)).status_code < 300
    terminated = await _terminate_backends(make_url(tasks_pg_url).database or "")
    assert terminated > 0
    for method, path, kwargs in OPERATIONS:
        statuses = []
        for _ in range(5):
            response = await user.request(method, path, **kwargs)
            statuses.append(response.status_code)
            if response.status_code < 300:
                break
            _assert_unavailable(response)
        assert statuses[-1] < 300, f"{method} {path}: {statuses}"
