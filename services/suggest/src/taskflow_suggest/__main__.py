"""Process roles: `python -m taskflow_suggest serve|consume|migrate`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from taskflow_common.instrumentation import instrument
from taskflow_common.process import run_async, serve_metrics, start_observability
from taskflow_suggest.config import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="taskflow_suggest")
    parser.add_argument("role", choices=["serve", "consume", "migrate"])
    args = parser.parse_args(argv)
    settings = Settings()
    start_observability(settings, f"taskflow-suggest-{args.role}")
    instrument("httpx", "redis")  # calls to tasks and the LLM provider, the LLM cache
    if args.role == "serve":
        serve(settings)
    elif args.role == "consume":
        run_async(consume(settings))
    else:
        from taskflow_suggest.infrastructure.db.migrate import upgrade

        upgrade(settings.database_url)


def serve(settings: Settings) -> None:
    from taskflow_common.listeners import serve_http
    from taskflow_suggest.bootstrap import create_app

    serve_http(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        metrics_port=settings.metrics_port,
        log_config=None,
        access_log=False,
    )


async def consume(settings: Settings) -> None:
    from taskflow_suggest.bootstrap import run_consumer

    container = await run_consumer(settings)
    serve_metrics(settings.metrics_port, settings.host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await container.close()


if __name__ == "__main__":
    main()
