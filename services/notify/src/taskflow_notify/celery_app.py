"""The Celery application, configured from Django settings (namespace CELERY_).

Built by bootstrap.configure, never at import time; tasks are `shared_task`s so they bind to
whichever app the process configured.
"""

from __future__ import annotations

from celery import Celery


def create_celery_app() -> Celery:
    app = Celery("taskflow_notify")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.set_default()
    return app
