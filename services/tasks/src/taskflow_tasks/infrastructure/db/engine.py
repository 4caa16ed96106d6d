"""The SQLAlchemy engine Alembic migrates through (asyncpg underneath); nothing else in the
service runs on SQLAlchemy (ADR 0111)."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Accept a plain postgresql:// URL (as in TASKFLOW_DATABASE_URL)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 1) -> AsyncEngine:
    return create_async_engine(async_url(url), pool_size=pool_size, max_overflow=0)
