"""Engines for the two modes: asyncpg on Postgres (the `suggest` schema), aiosqlite embedded."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from taskflow_suggest.infrastructure.db.tables import METADATA, SCHEMA


def async_url(url: str) -> str:
    """Accept the shared plain URLs (postgresql://, sqlite:///) and pick the async driver."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def is_sqlite(url: str) -> bool:
    return async_url(url).startswith("sqlite")


def make_engine(url: str, *, pre_ping: bool = True) -> AsyncEngine:
    """`pre_ping` costs a round trip per checkout; the HTTP API wants it (no 5xx for a
    connection that died with a database restart), the event consumer does not (a failed
    handling is retried, and the dead connection is dropped on the first error)."""
    url = async_url(url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # SQLite has no schemas: the tables live unqualified in the service's own file.
        return create_async_engine(url, execution_options={"schema_translate_map": {SCHEMA: None}})
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=pre_ping)


async def create_sqlite_tables(engine: AsyncEngine) -> None:
    """The embedded mode's schema (Postgres gets Alembic migrations instead)."""
    async with engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
