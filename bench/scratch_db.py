"""Throwaway Postgres databases for the benchmarks, on the stack's server (`scripts/stack up`)."""

from __future__ import annotations

import os
import secrets

import asyncpg

ADMIN_URL = os.environ.get(
    "TASKFLOW_TEST_DATABASE_URL", "postgresql://taskflow:taskflow@127.0.0.1:55432/taskflow"
)


async def create_database() -> tuple[str, str]:
    """A new empty database: its name and URL."""
    name = f"taskflow_tasks_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" OWNER taskflow')
    finally:
        await admin.close()
    return name, ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
