"""`python -m taskflow_notify <role>`: serve | consume | worker | migrate.

Picks a role; what each runs with is built in `bootstrap` (the composition root).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from taskflow_common.messaging import EventBus


def _serve() -> None:
    from taskflow_common.listeners import serve_http
    from taskflow_notify import bootstrap

    cfg = bootstrap.start_role().settings
    serve_http(
        bootstrap.build_asgi(),
        host=cfg.host,
        port=cfg.port,
        metrics_port=cfg.metrics_port,
        lifespan="off",
        log_config=None,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # Frames are small JSON: deflating each one costs more CPU than it saves on loopback.
        ws_per_message_deflate=False,
        proxy_headers=False,
    )


def _consume() -> None:
    from taskflow_common.process import run_async, serve_metrics
    from taskflow_notify import bootstrap

    cfg = bootstrap.start_role().settings
    serve_metrics(cfg.metrics_port or DEFAULT_METRICS_PORTS["consume"], cfg.host)
    run_async(_consume_until_stopped(bootstrap.event_bus(cfg)))


async def _consume_until_stopped(bus: EventBus) -> None:
    from taskflow_notify import bootstrap

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await bus.start()
    await bootstrap.subscribe_events(bus)
    await stop.wait()
    await bus.close()


def _worker(extra: list[str]) -> None:
    from celery import current_app

    from taskflow_common.process import serve_metrics
    from taskflow_notify import bootstrap

    cfg = bootstrap.start_role().settings
    serve_metrics(cfg.metrics_port or DEFAULT_METRICS_PORTS["worker"], cfg.host)
    import taskflow_notify.celery_tasks  # noqa: F401  (registers the tasks)

    # A node name of its own: two workers on one host must not share a remote-control queue.
    named = any(a.startswith(("-n", "--hostname")) for a in extra)
    node = [] if named else [f"--hostname=notify-{os.getpid()}@%h"]
    current_app.worker_main(
        [
            # No banner on stdout: every line this process writes is a JSON log record.
            "--quiet",
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
    from taskflow_notify import bootstrap

    bootstrap.start_role(migrate_verbosity=1)


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
