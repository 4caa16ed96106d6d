"""Test settings: the base with TASKFLOW_ENV=test (the session picks the database)."""

from __future__ import annotations

import os

os.environ.setdefault("TASKFLOW_ENV", "test")

from taskflow_admin.settings.base import *  # noqa: F403
