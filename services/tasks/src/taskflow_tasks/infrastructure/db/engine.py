"""Engines for the two databases: Postgres (asyncpg) and SQLite (aiosqlite, embedded mode)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from taskflow_tasks.infrastructure.db.tables import SCHEMA


def async_url(url: str) -> str:
    """Accept plain postgresql:// and sqlite:// URLs (as in TASKFLOW_DATABASE_URL)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """Postgres keeps the `tasks` schema; on SQLite the schema maps to none (one file)."""
    full_url = async_url(url)
    options: dict[str, Any] = {"echo": echo}
    if full_url.startswith("sqlite"):
        options["execution_options"] = {"schema_translate_map": {SCHEMA: None}}
        engine = create_async_engine(full_url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # A hard cap: with the asyncpg pool (pg_pool.py: hot reads and commands) a serve process
    # holds at most 2 x pool_size connections, so replicas x roles can be sized against
    # Postgres' max_connections.
    options.update(pool_size=pool_size, max_overflow=0, pool_pre_ping=False)
    return create_async_engine(full_url, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
