"""Integration fixtures: a throw-away Postgres database, Django, a live ASGI server, a worker.

Django allows one settings module per process: run notify's tests in their own pytest
process (`uv run pytest services/notify`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import psycopg
import pytest
from django.conf import settings

from taskflow_common.testing import require_component
from taskflow_common.testing.stack import AMQP_URL, DATABASE_URL

TESTS = Path(__file__).resolve().parent.parent


def _load(name: str) -> Any:
    """tests/<name>.py as a module (importlib mode puts no test directory on sys.path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"notify_test_{name}", TESTS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


helpers = _load("helpers")
mailpit = _load("mailpit")
receivers = _load("receivers")


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: the probes are held open together, because a port
    released by one probe can be handed straight to the next."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


@pytest.fixture(scope="session")
def notify_test_issuer() -> Any:
    return helpers.TestIssuer()


# Django reads its settings when set up, which has to happen before test modules import
# models; the database itself is created by the session fixture, before any connection.
SESSION_DATABASE = f"notify_test_{secrets.token_hex(4)}"
SESSION_QUEUE = f"taskflow.notify.deliveries.test-{secrets.token_hex(4)}"
SESSION_DATABASE_URL = DATABASE_URL.rsplit("/", 1)[0] + f"/{SESSION_DATABASE}"
SESSION_ENV = {
    "TASKFLOW_DATABASE_URL": SESSION_DATABASE_URL,
    "TASKFLOW_CELERY_QUEUE": SESSION_QUEUE,
    "TASKFLOW_LOG_JSON": "false",
    "TASKFLOW_LOG_LEVEL": "WARNING",
    "OTEL_SDK_DISABLED": "true",
    "DJANGO_SETTINGS_MODULE": "taskflow_notify.settings.test",
}
# Settings are read once, at setup; the process environment is restored right after, so
# nothing this session sets leaks into processes it starts (e.g. `scripts/suite up`).
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
        "notify's tests in a pytest process of their own (one Django settings per process)"
    )


@pytest.fixture(scope="session")
def notify_database_url() -> Iterator[str]:
    """A database of its own for this session (created with the taskflow role, then dropped)."""
    require_component("postgres")
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{SESSION_DATABASE}"')
    yield SESSION_DATABASE_URL
    from django.db import connections

    connections.close_all()
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SESSION_DATABASE}" WITH (FORCE)')


@pytest.fixture(scope="session")
def notify_session_env() -> dict[str, str]:
    """The environment a subprocess needs to run against this session's database and queue."""
    return dict(SESSION_ENV)


@pytest.fixture(scope="session")
def notify_queue() -> Iterator[str]:
    """A queue of this session's own (a running suite's notify worker must not take our
    tasks), deleted at the end: the workers using it have stopped by then."""
    yield SESSION_QUEUE
    from kombu import Connection

    with Connection(AMQP_URL) as connection:
        connection.default_channel.queue_delete(SESSION_QUEUE)


@pytest.fixture(scope="session")
def notify_django(notify_database_url: str, notify_test_issuer: Any, notify_queue: str) -> Any:
    """Django set up on the session database, migrated, with notify's adapters installed."""
    require_component("redis")
    require_component("rabbitmq")
    from taskflow_common.auth import static_jwks_source
    from taskflow_common.djangoweb.schema import migrate_schema
    from taskflow_notify import bootstrap

    container = bootstrap.configure(
        jwks=static_jwks_source(notify_test_issuer.jwks_document),
        issuer=helpers.TEST_ISSUER,
        audience=helpers.TEST_AUDIENCE,
    )
    migrate_schema(container.settings.db_schema)
    return container


@pytest.fixture(scope="session")
def notify_listeners(notify_django: Any) -> Iterator[tuple[str, str]]:
    """The real ASGI app (HTTP + WebSocket, Redis pub/sub layer) served by uvicorn on its two
    listeners, as `serve` runs it: (public host:port, metrics host:port)."""
    import uvicorn

    from taskflow_common.listeners import MetricsListenerSplit
    from taskflow_notify import bootstrap

    port, metrics_port = free_ports(2)
    app = MetricsListenerSplit(bootstrap.build_asgi(), metrics_port)
    configs = [
        uvicorn.Config(
            app, host="127.0.0.1", port=p, lifespan="off", log_config=None, log_level="warning"
        )
        for p in (port, metrics_port)
    ]
    sockets = [config.bind_socket() for config in configs]
    server = uvicorn.Server(configs[0])
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the notify test server did not start")
        time.sleep(0.05)
    yield f"127.0.0.1:{port}", f"127.0.0.1:{metrics_port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def notify_server(notify_listeners: tuple[str, str]) -> str:
    return notify_listeners[0]


@pytest.fixture(scope="session")
def notify_metrics_server(notify_listeners: tuple[str, str]) -> str:
    """Where notify_server's /metrics and readiness detail answer."""
    return notify_listeners[1]


@pytest.fixture(scope="session")
def notify_worker(notify_django: Any) -> Iterator[None]:
    """A real Celery worker (RabbitMQ broker) in a thread, consuming this session's queue."""
    from celery import current_app
    from celery.contrib.testing.worker import start_worker

    import taskflow_notify.celery_tasks  # noqa: F401  (registers the tasks)

    with start_worker(
        current_app,
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=15,
        loglevel="WARNING",
        hostname=f"notify-test-{secrets.token_hex(3)}@localhost",
    ):
        yield


@pytest.fixture(scope="session")
def rx() -> Any:
    """The loopback webhook receivers module (tests/receivers.py)."""
    return receivers


@pytest.fixture
def receiver() -> Iterator[Any]:
    """Starts loopback webhook receivers for one test: `receiver(answer, **options)`."""
    started: list[Any] = []

    def start(answer: Any, **options: Any) -> Any:
        started.append(receivers.Receiver(answer, **options))
        return started[-1]

    yield start
    for each in started:
        each.close()


@pytest.fixture(scope="session")
def nh() -> Any:
    """notify's test helpers module (tests/helpers.py)."""
    return helpers


@pytest.fixture(scope="session")
def notify_mailpit() -> Any:
    """Reads the real Mailpit's API (tests/mailpit.py)."""
    require_component("mailpit")
    require_component("mailpit-smtp")
    return mailpit
