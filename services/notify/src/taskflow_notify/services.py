"""Write side (HackSoft services): event ingestion and the user's own changes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from taskflow_common.events.envelope import RawEnvelope
from taskflow_common.events.registry import UnknownEventTypeError, parse_data
from taskflow_common.problems import FieldError, ProblemError, not_found, validation_problem
from taskflow_notify import selectors
from taskflow_notify.feed import FeedFrame, FeedPush, TaskSnapshotVersion, feed_append
from taskflow_notify.frames import notification_frame
from taskflow_notify.kinds import Channel, Kind
from taskflow_notify.membership import membership_apply
from taskflow_notify.metrics import NOTIFICATIONS_CREATED
from taskflow_notify.models import (
    Delivery,
    Notification,
    Preference,
    Webhook,
)
from taskflow_notify.planning import TaskChange, plan_event, project_id_of
from taskflow_notify.ports import WebhookRefusedError, WebhookSender

# Called after commit with (channel, delivery id): enqueues the Celery task for one delivery.
DeliveryEnqueuer = Callable[[str, str], None]


@dataclass(frozen=True)
class IngestOutcome:
    """What to push once the transaction has committed: stored feed frames, in feed order."""

    occurred_at: datetime | None = None
    pushes: list[FeedPush] = field(default_factory=list)


def event_ingest(*, envelope: RawEnvelope, enqueue: DeliveryEnqueuer) -> IngestOutcome:
    """Store an event's notifications and feed frames idempotently, in one transaction.

    Deliveries are enqueued after commit. Every event that changes what someone can see is
    stored in their change feed (ADR 0303), so nothing a live client misses is lost.
    """
    try:
        data = parse_data(envelope)
    except UnknownEventTypeError:
        return IngestOutcome()  # a type this version does not know: nothing to tell anyone
    with transaction.atomic():
        access = membership_apply(data)
        audience = selectors.project_audience(project_id=project_id_of(data))
        plan = plan_event(data, actor=envelope.subject, project_audience=audience)
        frames: list[FeedFrame] = []
        pending: list[Delivery] = []
        for planned in plan.notifications:
            notification, created = Notification.objects.get_or_create(
                event_id=envelope.event_id,
                user_id=planned.user_id,
                defaults={
                    "kind": planned.kind.value,
                    "event_type": envelope.event_type,
                    "occurred_at": envelope.occurred_at,
                    "title": planned.title[:300],
                    "body": planned.body,
                    "data": planned.data,
                },
            )
            if created:
                NOTIFICATIONS_CREATED.labels(planned.kind.value).inc()
                matrix = selectors.preference_matrix(user_id=planned.user_id)
                _deliveries_create(notification, planned.kind, matrix)
                if selectors.channel_enabled(matrix, planned.kind, Channel.IN_APP):
                    frames.append(
                        FeedFrame(planned.user_id, "notification", notification_frame(notification))
                    )
            # A redelivered event re-enqueues what is still pending (the first run may have
            # died between commit and enqueue); the delivery rows keep sends single.
            pending += Delivery.objects.filter(
                notification=notification, status=Delivery.Status.PENDING
            )
        snapshot = None
        if plan.task_change is not None:  # stored only if its snapshot is the task's newest
            task = plan.task_change.task
            snapshot = TaskSnapshotVersion(task["id"], task["version"])
            frames += _task_frames(plan.task_change, envelope.occurred_at)
            frames += _lost_sight_frames(plan.task_change, envelope.occurred_at)
        frames += [
            FeedFrame(user, "access.changed", {"type": "access.changed", **change})
            for user, change in access
        ]
        pushes = feed_append(
            event_id=envelope.event_id,
            occurred_at=envelope.occurred_at,
            frames=frames,
            snapshot=snapshot,
        )
        jobs = [(d.channel, str(d.id)) for d in pending]
        if jobs:
            transaction.on_commit(lambda: _enqueue_all(enqueue, jobs))
    return IngestOutcome(envelope.occurred_at, pushes)


def _task_frames(change: TaskChange, occurred_at: datetime) -> list[FeedFrame]:
    frame: dict[str, object] = {
        "type": "task.changed",
        "change": change.change,
        "task": change.task,
        "occurred_at": occurred_at.isoformat(),
    }
    if change.changed_fields is not None:
        frame["changed_fields"] = list(change.changed_fields)
    return [
        FeedFrame(user, "task.changed", frame, only_if_newest=True)
        for user in sorted(change.audience)
    ]


def _lost_sight_frames(change: TaskChange, occurred_at: datetime) -> list[FeedFrame]:
    """Those who can no longer see the task are told it left their view."""
    task = {"id": change.task["id"], "project_id": change.task["project_id"]}
    frame = {
        "type": "task.changed",
        "change": "removed",
        "task": task,
        "occurred_at": occurred_at.isoformat(),
    }
    return [
        FeedFrame(user, "task.removed", frame, only_if_newest=True)
        for user in sorted(change.lost_sight)
    ]


def _enqueue_all(enqueue: DeliveryEnqueuer, jobs: list[tuple[str, str]]) -> None:
    for channel, delivery_id in jobs:
        enqueue(channel, delivery_id)


def _deliveries_create(
    notification: Notification, kind: Kind, matrix: dict[str, dict[str, bool]]
) -> None:
    if selectors.channel_enabled(matrix, kind, Channel.EMAIL):
        Delivery.objects.create(notification=notification, channel="email", target="email")
    if selectors.channel_enabled(matrix, kind, Channel.WEBHOOK):
        for webhook in selectors.webhooks_for_kind(user_id=notification.user_id, kind=kind):
            Delivery.objects.create(
                notification=notification,
                channel="webhook",
                target=str(webhook.id),
                webhook=webhook,
            )


def notification_mark_read(*, user_id: str, notification_id: uuid.UUID) -> Notification:
    notification = selectors.notification_get(user_id=user_id, notification_id=notification_id)
    if notification is None:
        raise not_found("No such notification.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notification_mark_all_read(*, user_id: str) -> int:
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def preferences_update(
    *, user_id: str, changes: dict[str, dict[str, bool]]
) -> dict[str, dict[str, bool]]:
    """Apply a partial matrix (kind -> channel -> enabled); unknown names are a 422."""
    errors = [
        FieldError(loc=("preferences", kind), msg="unknown notification kind")
        for kind in changes
        if kind not in Kind.__members__.values()
    ]
    errors += [
        FieldError(loc=("preferences", kind, channel), msg="unknown channel")
        for kind, channels in changes.items()
        for channel in channels
        if channel not in Channel.__members__.values()
    ]
    if errors:
        raise ProblemError(validation_problem(errors))
    with transaction.atomic():
        for kind, channels in changes.items():
            for channel, enabled in channels.items():
                Preference.objects.update_or_create(
                    user_id=user_id, kind=kind, channel=channel, defaults={"enabled": enabled}
                )
    return selectors.preference_matrix(user_id=user_id)


def webhook_create(
    *,
    user_id: str,
    url: str,
    events: Sequence[str],
    secret: str,
    sender: WebhookSender,
    max_per_user: int,
) -> Webhook:
    errors = [
        FieldError(loc=("events", i), msg=f"unknown notification kind {e!r}")
        for i, e in enumerate(events)
        if e != "*" and e not in Kind.__members__.values()
    ]
    try:
        sender.check_url(url)
    except WebhookRefusedError as exc:
        errors.append(FieldError(loc=("url",), msg=f"refused: {exc}", type="url_refused"))
    if errors:
        raise ProblemError(validation_problem(errors))
    if selectors.webhook_list(user_id=user_id).count() >= max_per_user:
        raise ProblemError(
            validation_problem(
                [FieldError(loc=("url",), msg=f"at most {max_per_user} webhooks per user")]
            )
        )
    return Webhook.objects.create(
        user_id=user_id, url=url, events=list(dict.fromkeys(events)), secret=secret
    )


def webhook_delete(*, user_id: str, webhook_id: uuid.UUID) -> None:
    webhook = selectors.webhook_get(user_id=user_id, webhook_id=webhook_id)
    if webhook is None:
        raise not_found("No such webhook.")
    # Soft delete: the delivery log stays; pending deliveries to it are skipped.
    webhook.deleted_at = timezone.now()
    webhook.save(update_fields=["deleted_at"])
