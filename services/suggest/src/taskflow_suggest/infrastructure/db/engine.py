"""The SQLAlchemy engine on the `suggest` schema (asyncpg), in both modes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Accept the shared plain URLs (postgresql://, postgres://) and name the async driver."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain) :]
    if url.startswith("postgresql+asyncpg://"):
        return url
    raise ValueError(f"suggest stores on PostgreSQL: a postgresql:// URL, not {url.split(':')[0]}:")


def make_engine(url: str, *, pre_ping: bool = True) -> AsyncEngine:
    """`pre_ping` costs a round trip per checkout; the HTTP API wants it (no 5xx for a
    connection that died with a database restart), the event consumer does not (a failed
    handling is retried, and the dead connection is dropped on the first error)."""
    return create_async_engine(
        async_url(url), pool_size=10, max_overflow=10, pool_pre_ping=pre_ping
    )
