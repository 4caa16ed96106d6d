"""PostgreSQL for integration tests: one throwaway database per test session, owned by the
`taskflow` role, migrated, and dropped at the end, so parallel runs never collide. Without the
stack's PostgreSQL the session fails, saying how to start it (`scripts/stack up postgres`)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from taskflow_common.testing import require_component
from taskflow_common.testing.stack import DATABASE_URL
from taskflow_tasks.bootstrap import Database
from taskflow_tasks.infrastructure.db import migrate
from taskflow_tasks.infrastructure.db.engine import create_engine
from taskflow_tasks.infrastructure.db.pg_pool import PgPool
from taskflow_tasks.infrastructure.outbox import OutboxWaker


def database_url(name: str) -> str:
    return make_url(DATABASE_URL).set(database=name).render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database() -> str:
    name = f"taskflow_tasks_test_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" OWNER taskflow'))
    return name


def drop_database(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def tasks_pg_url() -> Iterator[str]:
    require_component("postgres")
    name = create_database()
    url = database_url(name)

    asyncio.run(migrate.upgrade_database(url))
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture
async def tasks_pg_engine(tasks_pg_url: str) -> AsyncIterator[AsyncEngine]:
    """For the tests' own look at the rows (SQLAlchemy Core over the tables' definitions)."""
    engine = create_engine(tasks_pg_url, pool_size=5)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def tasks_pg_db(tasks_pg_url: str) -> AsyncIterator[Database]:
    """The database as bootstrap builds it."""
    db = Database(PgPool(tasks_pg_url, size=5), OutboxWaker())
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def tasks_client(
    tasks_pg_url: str,
    tasks_jwks: dict[str, Any],
    tasks_settings_for: Callable[..., Any],
    serve_tasks_app: Callable[..., Any],
) -> AsyncIterator[httpx.AsyncClient]:
    settings = tasks_settings_for(tasks_pg_url, auto_migrate=False)
    async with serve_tasks_app(settings, tasks_jwks) as client:
        yield client


@pytest.fixture
def make_user(tasks_client: httpx.AsyncClient, users_for: Callable[..., Any]) -> Callable[[], Any]:
    return lambda: users_for(tasks_client)
