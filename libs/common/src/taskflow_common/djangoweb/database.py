"""A Django DATABASES entry from a TASKFLOW_DATABASE_URL, confined to one service's schema."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit


def database(url: str, schema: str) -> dict[str, Any]:
    """One DATABASES entry: Postgres confined to the service's schema, or SQLite (embedded)."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path) or ":memory:"}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
        # The schema is the service's private namespace; nothing else is on its search path.
        "OPTIONS": {"options": f"-c search_path={schema}"},
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
