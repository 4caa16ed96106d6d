"""Django Admin registrations: the audit log, read-only."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest
from django.utils.html import format_html

from taskflow_admin.models import AuditEntry


def _pretty(value: Any) -> str:
    if value in (None, {}, []):
        return "-"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "actor_username",
        "action",
        "target_type",
        "target_id",
        "published",
    )
    list_filter = (
        "action",
        "target_type",
        "actor_username",
        ("published_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("actor_username", "actor_id", "target_id")
    date_hierarchy = "occurred_at"
    readonly_fields = (
        "occurred_at",
        "actor_id",
        "actor_username",
        "action",
        "target_type",
        "target_id",
        "pretty_before",
        "pretty_after",
        "pretty_detail",
        "published_at",
        "publish_attempts",
        "last_publish_error",
    )
    fields = readonly_fields
    show_full_result_count = False  # no COUNT(*) over the whole log on every page

    @admin.display(boolean=True, description="published")
    def published(self, entry: AuditEntry) -> bool:
        return entry.published_at is not None

    @admin.display(description="before")
    def pretty_before(self, entry: AuditEntry) -> str:
        return _pretty(entry.before)

    @admin.display(description="after")
    def pretty_after(self, entry: AuditEntry) -> str:
        return _pretty(entry.after)

    @admin.display(description="detail")
    def pretty_detail(self, entry: AuditEntry) -> str:
        return _pretty(entry.detail)

    # Read-only, yet viewable: the change view renders the entry without a save button.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    # The audit log is append-only, even for administrators.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Administrators and users live in the identity provider (the console's Users pages read
# Keycloak); Django's user rows only mirror who signed in, and its groups grant nothing here.
# django.contrib.auth registered both before this module (INSTALLED_APPS order).
admin.site.unregister(Group)
admin.site.unregister(User)
