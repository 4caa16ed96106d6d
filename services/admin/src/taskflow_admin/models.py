"""Admin's tables, in its own `admin` schema."""

from __future__ import annotations

import uuid

from django.db import models


class AuditEntry(models.Model):
    """One administrative action: who did what to which object, and when."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.CharField(max_length=64)
    actor_username = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor_username} {self.action} {self.target_type} {self.target_id}"
