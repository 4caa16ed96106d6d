"""Alembic environment: runs on the connection handed over by `migrate.py` (async engines)."""

from __future__ import annotations

from alembic import context

from taskflow_tasks.infrastructure.db.tables import SCHEMA, metadata

connection = context.config.attributes["connection"]
on_postgres = connection.dialect.name == "postgresql"

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table="alembic_version",
    version_table_schema=SCHEMA if on_postgres else None,
    include_schemas=on_postgres,
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
