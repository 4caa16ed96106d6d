"""A Django DATABASES entry from a TASKFLOW_DATABASE_URL, confined to one service's schema."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit


def database(url: str, schema: str) -> dict[str, Any]:
    """One DATABASES entry: PostgreSQL confined to the service's schema (both modes)."""
    parts = urlsplit(url)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(
            "TaskFlow's Django services store on PostgreSQL:"
            f" a postgresql:// URL, not {parts.scheme}:"
        )
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
