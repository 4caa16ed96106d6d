"""`python -m taskflow_tasks <role>`: serve (HTTP API), relay (outbox -> bus), scheduler
(reminders and overdue notices), migrate [up|down] (the schema, by hand)."""

from __future__ import annotations

import argparse
import asyncio

from taskflow_common.process import run_async, start_observability
from taskflow_tasks.config import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m taskflow_tasks")
    parser.add_argument("role", choices=["serve", "relay", "scheduler", "migrate"])
    parser.add_argument(
        "direction",
        nargs="?",
        choices=["up", "down"],
        default="up",
        help="for migrate: up to head (default) or down to base",
    )
    args = parser.parse_args()
    settings = Settings()
    # The names the suite and the chart give each role (OTEL_SERVICE_NAME) are the defaults.
    start_observability(
        settings, "taskflow-tasks" if args.role == "serve" else f"taskflow-tasks-{args.role}"
    )
    from taskflow_tasks import bootstrap

    if args.role == "serve":
        from taskflow_common.listeners import serve_http

        app = bootstrap.create_app(settings)
        serve_http(
            app,
            host=settings.host,
            port=settings.port,
            metrics_port=settings.metrics_port,
            log_config=None,
            access_log=False,
            proxy_headers=False,  # the gateway is in front; no client address is used here
            server_header=False,
        )
    elif args.role == "relay":
        run_async(bootstrap.run_relay(settings))
    elif args.role == "scheduler":
        run_async(bootstrap.run_scheduler(settings))
    else:
        asyncio.run(_migrate(settings, args.direction))


async def _migrate(settings: Settings, direction: str) -> None:
    from taskflow_tasks.infrastructure.db import migrate
    from taskflow_tasks.infrastructure.db.engine import create_engine

    engine = create_engine(settings.database_url)
    try:
        await (migrate.upgrade(engine) if direction == "up" else migrate.downgrade(engine))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    main()
