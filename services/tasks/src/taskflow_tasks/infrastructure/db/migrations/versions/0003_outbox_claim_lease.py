"""Outbox rows carry a claim lease: relays claim and mark rows without holding a transaction.

Revision ID: 0003
Revises: 0002
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

from taskflow_tasks.infrastructure.db.tables import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: instant on Postgres, whatever the outbox holds. The partial index
    # ix_outbox_unsent (id WHERE sent_at IS NULL) still serves the claim: the claimed rows it
    # filters out are at most a few batches.
    column: sa.Column[datetime] = sa.Column("claimed_until", UtcDateTime(), nullable=True)
    op.add_column("outbox", column, schema="tasks")


def downgrade() -> None:
    op.drop_column("outbox", "claimed_until", schema="tasks")
