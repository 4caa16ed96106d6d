"""Notify's tables, all in its own `notify` schema."""

from __future__ import annotations

import uuid

from django.db import models

from taskflow_notify.kinds import Channel, Kind


class ProjectReadModel(models.Model):
    """A project, from `tasks.project.*` events: the row every event about it locks first.

    Events about one project so apply one at a time. `deleted` is a tombstone: events arrive
    in no guaranteed order, and a late one must not bring a deleted project back (ADR 0304).
    """

    project_id = models.CharField(primary_key=True, max_length=64)
    owner_id = models.CharField(max_length=64, blank=True, default="")  # "" until created
    version = models.BigIntegerField(default=0)  # the newest project version seen; 0: none
    deleted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)


class ProjectMember(models.Model):
    """A membership, from `tasks.project.member_*` events; a removed one stays as a tombstone
    (`active` false) with the version of the removal, so a late `member_added` loses to it."""

    project_id = models.CharField(max_length=64, db_index=True)
    user_id = models.CharField(max_length=64, db_index=True)
    role = models.CharField(max_length=16)
    version = models.BigIntegerField(default=0)  # the project version of the latest change
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project_id", "user_id"], name="notify_member_uniq")
        ]


class Notification(models.Model):
    """One stored, replayable notification. `seq` orders them and backs the cursors."""

    seq = models.BigAutoField(primary_key=True)
    id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=32, choices=[(k.value, k.value) for k in Kind])
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # The consumer's idempotency: an event redelivered notifies nobody twice.
            models.UniqueConstraint(fields=["event_id", "user_id"], name="notify_event_user_uniq")
        ]
        indexes = [
            models.Index(fields=["user_id", "seq"], name="notify_user_seq_idx"),
            models.Index(
                fields=["user_id", "seq"],
                condition=models.Q(read_at__isnull=True),
                name="notify_user_unread_idx",
            ),
        ]


class Preference(models.Model):
    """A user's choice for one (kind, channel); absent rows mean the default."""

    user_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=32)
    channel = models.CharField(max_length=16, choices=[(c.value, c.value) for c in Channel])
    enabled = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "kind", "channel"], name="notify_preference_uniq"
            )
        ]


class Webhook(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.CharField(max_length=64, db_index=True)
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)  # notification kinds, or ["*"]
    secret = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)


class Delivery(models.Model):
    """One (notification, channel, target) send. Its status makes re-runs send nothing twice;
    `attempts` and `claimed_until` bound how often it is tried, dead workers included."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"
        SKIPPED = "skipped"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE)
    channel = models.CharField(max_length=16)
    # "email" for email; the webhook's id for webhooks (never NULL, so the constraint holds).
    target = models.CharField(max_length=64)
    webhook = models.ForeignKey(Webhook, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Counted when an attempt is claimed, before anything is sent (docs/adr/0305).
    attempts = models.PositiveIntegerField(default=0)
    # Until when the worker that claimed the last attempt holds it; NULL when none does.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    response_status = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel", "target"], name="notify_delivery_uniq"
            )
        ]


class FeedHead(models.Model):
    """The newest position of a user's change feed, and how far retention has pruned it.

    Positions are per user and contiguous (1, 2, 3, …): a client, or the WebSocket consumer,
    that sees position n+2 after n knows it missed n+1. `pruned_through` makes "too old to
    serve" exact: a sync token below it gets a resync answer.
    """

    user_id = models.CharField(primary_key=True, max_length=64)
    position = models.BigIntegerField(default=0)
    pruned_through = models.BigIntegerField(default=0)


class FeedEntry(models.Model):
    """One frame of a user's change feed: what a live client was sent at `position`."""

    user_id = models.CharField(max_length=64)
    position = models.BigIntegerField()
    event_id = models.UUIDField()
    frame_type = models.CharField(max_length=32)  # task.changed | access.changed | notification
    frame = models.JSONField()
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "position"], name="notify_feed_pos_uniq"),
            # The consumer's idempotency: a redelivered event appends nothing twice.
            models.UniqueConstraint(
                fields=["event_id", "user_id", "frame_type"], name="notify_feed_event_uniq"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="notify_feed_created_idx")]


class TaskVersion(models.Model):
    """The newest version of a task whose snapshot went into change feeds.

    Events arrive in no guaranteed order: a `task.changed` frame goes out only for a snapshot
    newer than this, so a late update cannot overwrite a newer one in a client's view, nor
    bring a deleted task back (ADR 0304).
    """

    task_id = models.CharField(primary_key=True, max_length=64)
    version = models.BigIntegerField()
