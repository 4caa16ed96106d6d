"""Indexes for the administrators' list of every user's tasks (ADR 0112).

One partial index over the live tasks per sort order, keyed (sort key, id) as the keyset
cursor compares, so each page is an index range scan whatever the filters' selectivity; the
due date's keys read a missing due date as +/-infinity, so tasks without one sort last in
both directions (infrastructure/db/admin_queries.py uses the same expressions). An index
on the assignee serves the assignee filter, which no index covered.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_LIVE = "WHERE deleted_at IS NULL"
INDEXES = {
    "ix_tasks_live_created": f"(created_at, id) {_LIVE}",
    "ix_tasks_live_priority": f"(priority, id) {_LIVE}",
    "ix_tasks_live_due_asc": f"((COALESCE(due_at, 'infinity'::timestamptz)), id) {_LIVE}",
    "ix_tasks_live_due_desc": f"((COALESCE(due_at, '-infinity'::timestamptz)), id) {_LIVE}",
    "ix_tasks_assignee": "(assignee_id)",
}


def upgrade() -> None:
    for name, definition in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON tasks.tasks {definition}")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX tasks.{name}")
