"""task versions: suggestions answer only a task snapshot newer than the last answered

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "suggest"


def upgrade() -> None:
    op.add_column(
        "suggestions", sa.Column("task_version", sa.BigInteger(), nullable=True), schema=SCHEMA
    )
    op.create_table(
        "task_versions",
        sa.Column("task_id", sa.String(36), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("task_versions", schema=SCHEMA)
    op.drop_column("suggestions", "task_version", schema=SCHEMA)
