"""Django Admin registrations (the full admin UI comes with its own issue)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from taskflow_admin.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "actor_username", "action", "target_type", "target_id")
    list_filter = ("action", "target_type")
    search_fields = ("actor_username", "target_id")

    # The audit log is append-only, even for administrators.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
