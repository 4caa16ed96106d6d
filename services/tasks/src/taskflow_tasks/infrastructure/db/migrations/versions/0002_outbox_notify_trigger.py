"""Postgres notifies the outbox channel itself: a statement trigger on outbox inserts.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# taskflow_tasks.infrastructure.db.events.OUTBOX_CHANNEL, frozen here as migrations are.
_CHANNEL = "taskflow_tasks_outbox"


def upgrade() -> None:
    # One notification per inserting statement, delivered at commit (never on rollback), and
    # folded into one per transaction by Postgres: what the unit of work's NOTIFY did.
    op.execute(
        "CREATE FUNCTION tasks.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{_CHANNEL}', ''); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON tasks.outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION tasks.outbox_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON tasks.outbox")
    op.execute("DROP FUNCTION IF EXISTS tasks.outbox_notify()")
