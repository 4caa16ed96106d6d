"""Notification kinds and delivery channels, with each pair's default (framework-free)."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    TASK_ASSIGNED = "task_assigned"
    TASK_DUE_SOON = "task_due_soon"
    TASK_OVERDUE = "task_overdue"
    TASK_COMPLETED = "task_completed"
    PRIORITY_SUGGESTED = "priority_suggested"


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    WEBHOOK = "webhook"


# Email is on for what asks the user to act; the rest is in-app only until they opt in.
_EMAIL_BY_DEFAULT = {Kind.TASK_ASSIGNED, Kind.TASK_DUE_SOON, Kind.TASK_OVERDUE}


def default_enabled(kind: Kind, channel: Channel) -> bool:
    if channel is Channel.EMAIL:
        return kind in _EMAIL_BY_DEFAULT
    return True


def default_matrix() -> dict[str, dict[str, bool]]:
    return {k.value: {c.value: default_enabled(k, c) for c in Channel} for k in Kind}
