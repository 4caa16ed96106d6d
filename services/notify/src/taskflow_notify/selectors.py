"""Read side (HackSoft selectors): every query is scoped to the calling user."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from taskflow_notify.kinds import Channel, Kind, default_matrix
from taskflow_notify.models import (
    Delivery,
    Notification,
    Preference,
    ProjectMember,
    Webhook,
)


def notification_list(
    *, user_id: str, unread_only: bool = False, before_seq: int | None = None, limit: int = 50
) -> list[Notification]:
    """Newest first; one more row than asked tells the caller whether a next page exists."""
    qs = Notification.objects.filter(user_id=user_id)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    return list(qs.order_by("-seq")[: limit + 1])


def notifications_since(*, user_id: str, after_seq: int, limit: int = 500) -> list[Notification]:
    """Oldest first after a cursor: what a reconnecting client missed, in order."""
    return list(
        Notification.objects.filter(user_id=user_id, seq__gt=after_seq).order_by("seq")[:limit]
    )


def notification_get(*, user_id: str, notification_id: uuid.UUID) -> Notification | None:
    return Notification.objects.filter(user_id=user_id, id=notification_id).first()


def preference_matrix(*, user_id: str) -> dict[str, dict[str, bool]]:
    matrix = default_matrix()
    for pref in Preference.objects.filter(user_id=user_id):
        if pref.kind in matrix and pref.channel in matrix[pref.kind]:
            matrix[pref.kind][pref.channel] = pref.enabled
    return matrix


def channel_enabled(matrix: dict[str, dict[str, bool]], kind: Kind, channel: Channel) -> bool:
    return matrix.get(kind.value, {}).get(channel.value, False)


def project_audience(*, project_id: str | None) -> set[str]:
    """The project's current members (its owners among them): who may see its tasks.

    Only memberships in force count; a removed member's tombstone does not. The creator is a
    member like any other (tasks emits their `member_added` with the project) and stops
    hearing about the project once removed, as tasks stops showing it to them.
    """
    if not project_id:
        return set()
    return set(
        ProjectMember.objects.filter(project_id=project_id, active=True).values_list(
            "user_id", flat=True
        )
    )


def webhook_list(*, user_id: str) -> QuerySet[Webhook]:
    return Webhook.objects.filter(user_id=user_id, deleted_at__isnull=True).order_by("created_at")


def webhook_get(*, user_id: str, webhook_id: uuid.UUID) -> Webhook | None:
    return webhook_list(user_id=user_id).filter(id=webhook_id).first()


def webhooks_for_kind(*, user_id: str, kind: Kind) -> list[Webhook]:
    return [w for w in webhook_list(user_id=user_id) if "*" in w.events or kind.value in w.events]


def webhook_deliveries(*, webhook: Webhook, limit: int = 100) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(webhook=webhook)
        .select_related("notification")
        .order_by("-created_at")[:limit]
    )
