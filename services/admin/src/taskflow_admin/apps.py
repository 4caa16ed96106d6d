from __future__ import annotations

from django.apps import AppConfig


class TaskflowAdminConfig(AppConfig):
    # Not "admin": that label belongs to django.contrib.admin.
    name = "taskflow_admin"
    label = "taskflow_admin"
    verbose_name = "TaskFlow administration"
    default_auto_field = "django.db.models.BigAutoField"
