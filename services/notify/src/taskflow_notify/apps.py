from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "taskflow_notify"
    label = "notify"
    verbose_name = "TaskFlow notifications"
    default_auto_field = "django.db.models.BigAutoField"
    # The composition root (bootstrap.configure) puts the process's adapters here.
    container: Any = None
