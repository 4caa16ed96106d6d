"""In-process fixtures: Django on a throw-away database of the stack's PostgreSQL, verifying
the real Keycloak's tokens. Django allows one settings module per process: run admin's
tests in their own pytest process (`uv run pytest services/admin`).

(test_admin_service.py runs the service as a subprocess besides; both share this setup.)
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import django
import psycopg
import pytest
from django.conf import settings

from taskflow_common.testing import require_component
from taskflow_common.testing.stack import DATABASE_URL

SESSION_DATABASE = f"admin_test_{secrets.token_hex(4)}"
SESSION_DATABASE_URL = DATABASE_URL.rsplit("/", 1)[0] + f"/{SESSION_DATABASE}"
SESSION_ENV = {
    "TASKFLOW_DATABASE_URL": SESSION_DATABASE_URL,
    "TASKFLOW_LOG_JSON": "false",
    "OTEL_SDK_DISABLED": "true",
    "DJANGO_SETTINGS_MODULE": "taskflow_admin.settings.test",
}
# Settings are read once, at setup; the environment is restored right after, so nothing this
# session sets leaks into the processes it starts.
_saved_environ = dict(os.environ)
os.environ.update(SESSION_ENV)
try:
    django.setup(set_prefix=False)
finally:
    os.environ.clear()
    os.environ.update(_saved_environ)
if SESSION_ENV["DJANGO_SETTINGS_MODULE"] != settings.SETTINGS_MODULE:
    raise RuntimeError(
        f"Django is already set up with {settings.SETTINGS_MODULE!r} in this process; run "
        "admin's tests in a pytest process of their own (one Django settings per process)"
    )


@pytest.fixture(scope="session")
def admin_session_database() -> Iterator[str]:
    require_component("postgres")
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{SESSION_DATABASE}"')
    yield SESSION_DATABASE_URL
    from django.db import connections

    connections.close_all()
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SESSION_DATABASE}" WITH (FORCE)')


@pytest.fixture(scope="session")
def admin_django(admin_session_database: str) -> Any:
    """Django migrated on the session database, verifying the real Keycloak's tokens."""
    require_component("keycloak")
    from django.test.utils import setup_test_environment

    from taskflow_admin import bootstrap
    from taskflow_common.djangoweb.schema import migrate_schema

    cfg = bootstrap.configure(logging_and_telemetry=False)
    migrate_schema(cfg.db_schema)
    setup_test_environment()
    return cfg


@pytest.fixture(scope="session")
def admin_database() -> Iterator[str]:
    """A database of its own for the service processes these tests start, dropped after."""
    require_component("postgres")
    name = f"admin_test_{secrets.token_hex(4)}"
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
