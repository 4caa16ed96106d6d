"""Integration fixtures: a throwaway Postgres database per test module (migrations go up and
down there, never in the shared one the running suite uses)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from taskflow_common.testing import require_component
from taskflow_common.testing.stack import DATABASE_URL


@pytest.fixture
async def suggest_pg_url() -> AsyncIterator[str]:
    require_component("postgres")
    name = f"suggest_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(DATABASE_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = DATABASE_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    admin = await asyncpg.connect(DATABASE_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
