"""`python -m taskflow_notify <role>`: serve | consume | worker | migrate."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys


def _serve() -> None:
    import uvicorn

    from taskflow_common.djangoweb.schema import migrate_schema
    from taskflow_notify import bootstrap

    bootstrap.setup_django()
    container = bootstrap.configure()
    migrate_schema(container.settings.db_schema)
    cfg = container.settings
    uvicorn.run(
        bootstrap.build_asgi(),
        host=cfg.host,
        port=cfg.port,
        lifespan="off",
        log_config=None,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # Frames are small JSON: deflating each one costs more CPU than it saves on loopback.
        ws_per_message_deflate=False,
        proxy_headers=False,
    )


def _consume() -> None:
    from taskflow_common.djangoweb.schema import migrate_schema
    from taskflow_common.process import run_async, serve_metrics
    from taskflow_notify import bootstrap

    bootstrap.setup_django()
    container = bootstrap.configure()
    migrate_schema(container.settings.db_schema)
    serve_metrics(
        container.settings.metrics_port or DEFAULT_METRICS_PORTS["consume"], container.settings.host
    )
    run_async(_consume_forever(container.settings.amqp_url))


async def _consume_forever(amqp_url: str) -> None:
    from taskflow_common.messaging import RetryPolicy
    from taskflow_common.messaging.amqp import AmqpEventBus
    from taskflow_notify.consumers.events import CONSUMER, PATTERNS, make_event_handler

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bus = AmqpEventBus(amqp_url, prefetch=64)
    await bus.start()
    # Patient retries: a database restart must not send events to the dead-letter queue.
    retry = RetryPolicy(max_attempts=12, initial_delay=0.5, max_delay=30.0)
    await bus.subscribe(CONSUMER, PATTERNS, make_event_handler(), retry=retry)
    await stop.wait()
    await bus.close()


def _worker(extra: list[str]) -> None:
    from celery import current_app

    from taskflow_common.djangoweb.schema import migrate_schema
    from taskflow_common.process import serve_metrics
    from taskflow_notify import bootstrap

    bootstrap.setup_django()
    container = bootstrap.configure()
    migrate_schema(container.settings.db_schema)
    serve_metrics(
        container.settings.metrics_port or DEFAULT_METRICS_PORTS["worker"], container.settings.host
    )
    import taskflow_notify.tasks  # noqa: F401  (registers the tasks)

    # A node name of its own: two workers on one host must not share a remote-control queue.
    named = any(a.startswith(("-n", "--hostname")) for a in extra)
    node = [] if named else [f"--hostname=notify-{os.getpid()}@%h"]
    current_app.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            # Threads, not prefork: deliveries wait on SMTP and HTTP, and one process keeps
            # its metrics (and telemetry) in one registry that /metrics can serve.
            "--pool=threads",
            "--concurrency=4",
            *node,
            *extra,
        ]
    )


# consume and worker have no HTTP server of their own: /metrics on these ports unless
# TASKFLOW_METRICS_PORT says otherwise.
DEFAULT_METRICS_PORTS = {"consume": 9104, "worker": 9105}


def _migrate() -> None:
    from taskflow_common.djangoweb.schema import migrate_schema
    from taskflow_notify import bootstrap

    bootstrap.setup_django()
    container = bootstrap.configure()
    migrate_schema(container.settings.db_schema, verbosity=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m taskflow_notify")
    parser.add_argument("role", choices=["serve", "consume", "worker", "migrate"])
    args, extra = parser.parse_known_args(argv)
    if args.role == "serve":
        _serve()
    elif args.role == "consume":
        _consume()
    elif args.role == "worker":
        _worker(extra)
    else:
        _migrate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
