"""Run the Alembic migrations that ship inside the package (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from taskflow_tasks.infrastructure.db.engine import create_engine
from taskflow_tasks.infrastructure.db.tables import SCHEMA

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant shared by every replica: concurrent starts migrate one at a time.
_ADVISORY_LOCK_ID = 0x7461736B73  # "tasks"


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _run(connection: Connection, action: str, revision: str) -> None:
    # Lock first: concurrent CREATE SCHEMA IF NOT EXISTS can still collide in Postgres.
    connection.execute(text(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_ID})"))
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    config = _config(connection)
    if action == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, "downgrade", revision)


async def upgrade_database(database_url: str) -> None:
    """Upgrade to head on a short-lived engine: the service itself runs on asyncpg alone."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
