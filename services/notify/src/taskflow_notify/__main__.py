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
    from taskflow_notify import bootstrap

    bootstrap.setup_django()
    container = bootstrap.configure()
    migrate_schema(container.settings.db_schema)
    asyncio.run(_consume_forever(container.settings.amqp_url, container.settings.metrics_port))


async def _consume_forever(amqp_url: str, metrics_port: int | None) -> None:
    from taskflow_common.messaging import RetryPolicy
    from taskflow_common.messaging.amqp import AmqpEventBus
    from taskflow_notify.consumers.events import CONSUMER, PATTERNS, make_event_handler

    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
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
    from taskflow_notify import bootstrap

    bootstrap.setup_django()
    container = bootstrap.configure(telemetry_now=False)
    migrate_schema(container.settings.db_schema)
    from celery.signals import worker_process_init

    @worker_process_init.connect(weak=False)
    def _telemetry_in_child(**_: object) -> None:
        bootstrap.init_process_telemetry(container.settings)

    if container.settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(container.settings.metrics_port, addr="127.0.0.1")
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
            "--concurrency=2",
            *node,
            *extra,
        ]
    )


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
