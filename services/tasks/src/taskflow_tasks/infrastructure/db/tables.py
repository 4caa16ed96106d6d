"""The `tasks` schema as SQLModel tables: the one definition of the schema, which the Alembic
migrations follow and the asyncpg statements take their column lists from (sql.py). Nothing
reads or writes through these at run time (ADR 0111)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

SCHEMA = "tasks"
metadata = MetaData(schema=SCHEMA)


class UtcDateTime(TypeDecorator[datetime]):
    """timestamptz, read and written as aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonDoc = JSONB()


def _json(nullable: bool = False) -> Any:
    return Field(sa_column=Column(JsonDoc, nullable=nullable))


def _at(nullable: bool = True, index: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


class TasksModel(SQLModel, registry=registry(metadata=metadata)):
    """Base of this service's tables: its own metadata, apart from any other SQLModel user."""


class ProjectRow(TasksModel, table=True):
    __tablename__ = "projects"

    id: UUID = Field(sa_column=Column(Uuid(), primary_key=True))
    owner_id: str = Field(sa_column=Column(String(255), nullable=False))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    description: str = Field(sa_column=Column(Text, nullable=False, default=""))
    version: int = Field(sa_column=Column(BigInteger, nullable=False, default=1))
    created_at: datetime = _at(nullable=False)
    updated_at: datetime = _at(nullable=False)


class MemberRow(TasksModel, table=True):
    __tablename__ = "members"
    __table_args__ = (Index("ix_members_user", "user_id", "project_id"),)

    project_id: UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey(f"{SCHEMA}.projects.id", ondelete="CASCADE"), primary_key=True
        )
    )
    user_id: str = Field(sa_column=Column(String(255), primary_key=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))


class TaskRow(TasksModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_owner_created", "owner_id", "created_at", "id"),
        Index("ix_tasks_project", "project_id"),
        Index("ix_tasks_parent", "parent_id"),
        Index("ix_tasks_owner_due", "owner_id", "due_at", "id"),
    )

    id: UUID = Field(sa_column=Column(Uuid(), primary_key=True))
    owner_id: str = Field(sa_column=Column(String(255), nullable=False))
    project_id: UUID | None = Field(
        sa_column=Column(Uuid(), ForeignKey(f"{SCHEMA}.projects.id"), nullable=True)
    )
    assignee_id: str | None = Field(sa_column=Column(String(255), nullable=True))
    parent_id: UUID | None = Field(
        sa_column=Column(Uuid(), ForeignKey(f"{SCHEMA}.tasks.id"), nullable=True)
    )
    title: str = Field(sa_column=Column(String(200), nullable=False))
    description: str = Field(sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    priority: int = Field(sa_column=Column(SmallInteger, nullable=False))
    due_at: datetime | None = _at()
    start_at: datetime | None = _at()
    completed_at: datetime | None = _at()
    labels: list[str] = _json()
    label_keys: list[str] = _json()  # case-folded labels, for filtering (GIN index)
    recurrence: str | None = Field(sa_column=Column(String(500), nullable=True))
    series_start: datetime | None = _at()
    next_occurrence_id: UUID | None = Field(sa_column=Column(Uuid(), nullable=True))
    reminders: list[str] = _json()
    position: float = Field(sa_column=Column(Double, nullable=False, default=0.0))
    version: int = Field(sa_column=Column(BigInteger, nullable=False, default=1))
    created_at: datetime = _at(nullable=False)
    updated_at: datetime = _at(nullable=False)
    deleted_at: datetime | None = _at()
    overdue_fired_at: datetime | None = _at()


class ReminderRow(TasksModel, table=True):
    """One pending reminder per (task, offset); fired_at set in the transaction that fires it."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "fire_at"),)

    task_id: UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey(f"{SCHEMA}.tasks.id", ondelete="CASCADE"), primary_key=True
        )
    )
    offset: str = Field(sa_column=Column(String(64), primary_key=True))
    fire_at: datetime = _at(nullable=False)
    fired_at: datetime | None = _at()


class OutboxRow(TasksModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "id"),)

    id: UUID = Field(sa_column=Column(Uuid(), primary_key=True))  # the event id (UUIDv7)
    event_type: str = Field(sa_column=Column(String(100), nullable=False))
    payload: dict[str, Any] = _json()  # the whole envelope
    traceparent: str | None = Field(sa_column=Column(String(64), nullable=True))
    tracestate: str | None = Field(sa_column=Column(String(512), nullable=True))
    created_at: datetime = _at(nullable=False)
    sent_at: datetime | None = _at()
    attempts: int = Field(sa_column=Column(BigInteger, nullable=False, default=0))
    last_error: str | None = Field(sa_column=Column(Text, nullable=True))
    # A relay's lease on an unsent row (migration 0003): others skip it until then.
    claimed_until: datetime | None = _at()


class ActivityRow(TasksModel, table=True):
    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_task", "task_id", "at"),)

    id: UUID = Field(sa_column=Column(Uuid(), primary_key=True))
    task_id: UUID = Field(sa_column=Column(Uuid(), nullable=False))
    actor_id: str = Field(sa_column=Column(String(255), nullable=False))
    at: datetime = _at(nullable=False)
    action: str = Field(sa_column=Column(String(32), nullable=False))
    changes: dict[str, Any] = _json()


class IdempotencyRow(TasksModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_created", "created_at"),)

    user_id: str = Field(sa_column=Column(String(255), primary_key=True))
    key: str = Field(sa_column=Column(String(255), primary_key=True))
    fingerprint: str = Field(sa_column=Column(String(128), nullable=False))
    task_id: UUID = Field(sa_column=Column(Uuid(), nullable=False))
    response: dict[str, Any] = _json()
    created_at: datetime = _at(nullable=False)


projects = metadata.tables[f"{SCHEMA}.projects"]
members = metadata.tables[f"{SCHEMA}.members"]
tasks = metadata.tables[f"{SCHEMA}.tasks"]
reminders = metadata.tables[f"{SCHEMA}.reminders"]
outbox = metadata.tables[f"{SCHEMA}.outbox"]
activity = metadata.tables[f"{SCHEMA}.activity"]
idempotency_keys = metadata.tables[f"{SCHEMA}.idempotency_keys"]
