"""Keeps notify's and admin's tables in their own schemas inside the embedded mode's one
Django process (ADR 0011).

notify's app is on the `default` alias (search_path=notify): its services open
`transaction.atomic()` and raw cursors on the default connection. Everything else installed
(admin's app and the Django contrib apps Django Admin needs) is admin's, on the `admin` alias
(search_path=admin), exactly where the distributed admin keeps them.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps

# By package, not by label: notify's app label is "notify".
NOTIFY_PACKAGES = frozenset({"taskflow_notify"})


def alias_of(app_label: str) -> str:
    return "default" if apps.get_app_config(app_label).name in NOTIFY_PACKAGES else "admin"


class ServiceSchemaRouter:
    def db_for_read(self, model: Any, **_hints: Any) -> str:
        return alias_of(model._meta.app_label)

    def db_for_write(self, model: Any, **_hints: Any) -> str:
        return alias_of(model._meta.app_label)

    def allow_relation(self, obj1: Any, obj2: Any, **_hints: Any) -> bool:
        return alias_of(obj1._meta.app_label) == alias_of(obj2._meta.app_label)

    def allow_migrate(self, db: str, app_label: str, **_hints: Any) -> bool:
        return db == alias_of(app_label)
