"""Run the `suggest` schema's Alembic migrations programmatically (Postgres only)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic keeps its context in module globals: one migration at a time per process. Across
# processes (serve and consume starting together) env.py takes a Postgres advisory lock.
_lock = threading.Lock()


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("version_locations", str(MIGRATIONS / "versions"))
    config.set_main_option("path_separator", "os")
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    with _lock:
        command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    with _lock:
        command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str) -> None:
    """env.py runs its own event loop, so migrations go to a worker thread."""
    await asyncio.to_thread(upgrade, database_url)
