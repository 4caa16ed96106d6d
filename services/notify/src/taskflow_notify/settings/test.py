"""Test settings: the base, with loopback webhook receivers allowed and fast retries.

The test session points TASKFLOW_DATABASE_URL at its own throw-away database before Django
loads this module.
"""

from __future__ import annotations

import os

os.environ.setdefault("TASKFLOW_ENV", "test")
os.environ.setdefault("TASKFLOW_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
os.environ.setdefault("TASKFLOW_DELIVERY_RETRY_BASE_SECONDS", "0.2")
os.environ.setdefault("TASKFLOW_DELIVERY_RETRY_MAX_SECONDS", "1")

from taskflow_notify.settings.base import *  # noqa: F403
