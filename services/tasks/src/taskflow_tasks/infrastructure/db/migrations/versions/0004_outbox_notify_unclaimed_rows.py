"""The outbox trigger notifies only for rows written unclaimed (ADR 106).

A web process that publishes on commit writes its rows claimed: waking the relays for them
would cost each a claim round trip that finds nothing.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no NOTIFY
    # A row trigger, since a statement trigger cannot see the rows; Postgres still folds the
    # identical notifications of one transaction into one, delivered at commit.
    op.execute("DROP TRIGGER outbox_notify ON tasks.outbox")
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON tasks.outbox "
        "FOR EACH ROW WHEN (NEW.claimed_until IS NULL) EXECUTE FUNCTION tasks.outbox_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER outbox_notify ON tasks.outbox")
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON tasks.outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION tasks.outbox_notify()"
    )
