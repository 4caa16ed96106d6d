"""suggestions and feedback

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "suggest"


def upgrade() -> None:
    op.create_table(
        "suggestions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("suggested_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_event_id", sa.String(36), nullable=True, unique=True),
        sa.CheckConstraint(
            "priority IN ('none', 'low', 'medium', 'high', 'urgent')", name="ck_priority"
        ),
        sa.CheckConstraint("source IN ('llm', 'heuristic')", name="ck_source"),
        sa.CheckConstraint("confidence >= 0 AND confidence <= 1", name="ck_confidence"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_suggestions_task_id_id", "suggestions", ["task_id", "id"], schema=SCHEMA
    )
    op.create_index(
        "ix_suggestions_requested_by_id", "suggestions", ["requested_by", "id"], schema=SCHEMA
    )
    op.create_table(
        "feedback",
        sa.Column(
            "suggestion_id",
            sa.String(36),
            sa.ForeignKey(f"{SCHEMA}.suggestions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("feedback", schema=SCHEMA)
    op.drop_index("ix_suggestions_requested_by_id", "suggestions", schema=SCHEMA)
    op.drop_index("ix_suggestions_task_id_id", "suggestions", schema=SCHEMA)
    op.drop_table("suggestions", schema=SCHEMA)
