"""The `suggest` schema's tables (SQLModel). API schemas live in interfaces/http, not here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, MetaData, String, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

SCHEMA = "suggest"


class SuggestTable(SQLModel, registry=registry(metadata=MetaData())):
    """Our own metadata: other services' SQLModel tables share the process in embedded mode."""


METADATA = SuggestTable.metadata


class SuggestionRow(SuggestTable, table=True):
    __tablename__ = "suggestions"
    __table_args__ = (
        Index("ix_suggestions_task_id_id", "task_id", "id"),
        Index("ix_suggestions_requested_by_id", "requested_by", "id"),
        {"schema": SCHEMA},
    )

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    task_id: str | None = Field(default=None, sa_column=Column(String(36), nullable=True))
    requested_by: str = Field(sa_column=Column(String(255), nullable=False))
    priority: str = Field(sa_column=Column(String(16), nullable=False))
    rationale: str = Field(sa_column=Column(Text, nullable=False))
    confidence: float
    suggested_due_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    source: str = Field(sa_column=Column(String(16), nullable=False))
    model: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # The task event this suggestion answers; unique, so a redelivered event makes no second one.
    source_event_id: str | None = Field(
        default=None, sa_column=Column(String(36), nullable=True, unique=True)
    )
    # The version of the task snapshot an event's suggestion read (migration 0002).
    task_version: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class TaskVersionRow(SuggestTable, table=True):
    """The newest task version a suggestion answered, per task: events arrive in no
    guaranteed order, and only a newer snapshot may be answered (ADR 0304)."""

    __tablename__ = "task_versions"
    __table_args__ = ({"schema": SCHEMA},)

    task_id: str = Field(sa_column=Column(String(36), primary_key=True))
    version: int = Field(sa_column=Column(BigInteger, nullable=False))


class FeedbackRow(SuggestTable, table=True):
    __tablename__ = "feedback"
    __table_args__ = ({"schema": SCHEMA},)

    suggestion_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey(f"{SCHEMA}.suggestions.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    user_id: str = Field(sa_column=Column(String(255), primary_key=True))
    accepted: bool
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
