"""Create a Django service's Postgres schema and apply its migrations, one process at a time."""

from __future__ import annotations

import zlib

from django.core.management import call_command
from django.db import connection


def migrate_schema(schema: str, *, verbosity: int = 0) -> None:
    """Idempotent; safe when several roles start together (a Postgres advisory lock)."""
    if connection.vendor != "postgresql":
        call_command("migrate", interactive=False, verbosity=verbosity)
        return
    lock_id = zlib.crc32(f"taskflow-migrate-{schema}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])
        try:
            # Before Django's migration recorder runs: its table lives in this schema too.
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            call_command("migrate", interactive=False, verbosity=verbosity)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])
