"""Admin's tables, in its own `admin` schema."""

from __future__ import annotations

import uuid

from django.db import models


class AuditEntry(models.Model):
    """One administrative action: who did what to which object, when, and the state before
    and after it.

    The table is also the outbox of `admin.audit.recorded.v1` (ADR 0014): an entry is
    committed first, then published by the audit relay, which stamps `published_at` once the
    broker confirmed it; `claimed_until` is the lease a relay holds while publishing.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.CharField(max_length=64)
    actor_username = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    # Anything else worth keeping: a bulk action's per-object outcomes, the upstream problem.
    detail = models.JSONField(default=dict, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    last_publish_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            # The API's keyset order.
            models.Index(fields=["-occurred_at", "-id"], name="audit_keyset"),
            # The relay's scan: only what is still to publish.
            models.Index(
                fields=["occurred_at"],
                name="audit_unpublished",
                condition=models.Q(published_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor_username} {self.action} {self.target_type} {self.target_id}"
