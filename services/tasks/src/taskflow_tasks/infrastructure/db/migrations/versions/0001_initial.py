"""The tasks schema: projects, members, tasks, reminders, outbox, activity, idempotency keys.

Revision ID: 0001
Revises:
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from taskflow_tasks.infrastructure.db.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

S = "tasks"


def _json() -> sa.types.TypeEngine[Any]:
    return postgresql.JSONB()


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        schema=S,
    )
    op.create_table(
        "members",
        sa.Column("project_id", sa.Uuid(), sa.ForeignKey(f"{S}.projects.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        schema=S,
    )
    op.create_index("ix_members_user", "members", ["user_id", "project_id"], schema=S)
    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("project_id", sa.Uuid(), sa.ForeignKey(f"{S}.projects.id"), nullable=True),
        sa.Column("assignee_id", sa.String(255), nullable=True),
        sa.Column("parent_id", sa.Uuid(), sa.ForeignKey(f"{S}.tasks.id"), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=True),
        sa.Column("start_at", UtcDateTime(), nullable=True),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("labels", _json(), nullable=False),
        sa.Column("label_keys", _json(), nullable=False),
        sa.Column("recurrence", sa.String(500), nullable=True),
        sa.Column("series_start", UtcDateTime(), nullable=True),
        sa.Column("next_occurrence_id", sa.Uuid(), nullable=True),
        sa.Column("reminders", _json(), nullable=False),
        sa.Column("position", sa.Double(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("deleted_at", UtcDateTime(), nullable=True),
        sa.Column("overdue_fired_at", UtcDateTime(), nullable=True),
        schema=S,
    )
    op.create_index("ix_tasks_owner_created", "tasks", ["owner_id", "created_at", "id"], schema=S)
    op.create_index("ix_tasks_owner_due", "tasks", ["owner_id", "due_at", "id"], schema=S)
    op.create_index("ix_tasks_project", "tasks", ["project_id"], schema=S)
    op.create_index("ix_tasks_parent", "tasks", ["parent_id"], schema=S)
    op.create_table(
        "reminders",
        sa.Column("task_id", sa.Uuid(), sa.ForeignKey(f"{S}.tasks.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("offset", sa.String(64), primary_key=True),
        sa.Column("fire_at", UtcDateTime(), nullable=False),
        sa.Column("fired_at", UtcDateTime(), nullable=True),
        schema=S,
    )
    op.create_index("ix_reminders_due", "reminders", ["fire_at"], schema=S)
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("traceparent", sa.String(64), nullable=True),
        sa.Column("tracestate", sa.String(512), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        schema=S,
    )
    op.create_index("ix_outbox_pending", "outbox", ["sent_at", "id"], schema=S)
    op.create_table(
        "activity",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.String(255), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("changes", _json(), nullable=False),
        schema=S,
    )
    op.create_index("ix_activity_task", "activity", ["task_id", "at"], schema=S)
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("response", _json(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        schema=S,
    )
    op.create_index("ix_idempotency_created", "idempotency_keys", ["created_at"], schema=S)
    # Full-text search over title and description; queries use the same expression.
    op.execute(
        "CREATE INDEX ix_tasks_search ON tasks.tasks USING gin "
        "(to_tsvector('english'::regconfig, (title::text || ' ') || description))"
    )
    op.execute("CREATE INDEX ix_tasks_label_keys ON tasks.tasks USING gin (label_keys)")
    # The relay and the scheduler only ever look at what is pending.
    op.execute(
        "CREATE INDEX ix_outbox_unsent ON tasks.outbox (id) WHERE sent_at IS NULL"
    )
    op.execute(
        "CREATE INDEX ix_reminders_unfired ON tasks.reminders (fire_at) WHERE fired_at IS NULL"
    )
    op.execute(
        "CREATE INDEX ix_tasks_overdue_pending ON tasks.tasks (due_at) "
        "WHERE overdue_fired_at IS NULL AND deleted_at IS NULL "
        "AND status IN ('todo', 'in_progress')"
    )


def downgrade() -> None:
    for table in ("idempotency_keys", "activity", "outbox", "reminders", "tasks", "members",
                  "projects"):
        op.drop_table(table, schema=S)
