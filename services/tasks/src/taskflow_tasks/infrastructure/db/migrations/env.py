"""Alembic environment: runs on the connection handed over by `migrate.py` (async engines)."""

from __future__ import annotations

from alembic import context

from taskflow_tasks.infrastructure.db.tables import SCHEMA, metadata

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=metadata,
    version_table="alembic_version",
    version_table_schema=SCHEMA,
    include_schemas=True,
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
