"""`python -m taskflow_embedded`: all of TaskFlow on http://127.0.0.1:8080 in one process."""

from __future__ import annotations

import argparse
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

from taskflow_common.listeners import serve_http
from taskflow_common.process import start_observability
from taskflow_embedded.config import PRODUCTION_REFUSED, EmbeddedSettings
from taskflow_embedded.instance_lock import AlreadyRunningError, InstanceLock
from taskflow_embedded.postgres import EmbeddedPostgres, PostgresError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m taskflow_embedded")
    parser.add_argument("--host", help="default 127.0.0.1 (TASKFLOW_HOST)")
    parser.add_argument("--port", type=int, help="default 8080 (TASKFLOW_PORT)")
    parser.add_argument("--data-dir", type=Path, help="default .data (TASKFLOW_DATA_DIR)")
    args = parser.parse_args(argv)
    overrides = {
        k: v
        for k, v in {"host": args.host, "port": args.port, "data_dir": args.data_dir}.items()
        if v is not None
    }
    settings = EmbeddedSettings(**overrides)
    # The one process's logs and telemetry; the services it composes start none of their own.
    start_observability(settings, settings.service_name)
    if settings.is_production:
        # Before anything touches the data directory or starts a server.
        print(PRODUCTION_REFUSED, file=sys.stderr)
        return 2
    lock = InstanceLock(settings.data_dir)
    try:
        lock.acquire()
    except AlreadyRunningError as exc:
        print(f"taskflow_embedded: {exc}", file=sys.stderr)
        return 3
    # SIGTERM unwinds like Ctrl-C, so the database server stops with the suite; uvicorn
    # handles both signals while it serves and re-raises them when it is done.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    postgres = EmbeddedPostgres(settings.data_dir)
    try:
        # The server starts while every service's code is imported (seconds; imported only
        # now, so a refused second run does not wait for it).
        with ThreadPoolExecutor(1, thread_name_prefix="postgres") as starting:
            started = starting.submit(postgres.start)
            from taskflow_embedded.composition import build_embedded_app

            database_url = started.result()
        app = build_embedded_app(settings, database_url=database_url)
        print(
            f"TaskFlow (embedded) on {settings.public_url}  — API docs: {settings.public_url}/docs",
            file=sys.stderr,
        )
        _serve(app, settings)
    except PostgresError as exc:
        print(f"taskflow_embedded: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C or SIGTERM must not cut the server's stop short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        postgres.stop()
        lock.release()
    return 0


def _serve(app: Any, settings: EmbeddedSettings) -> None:
    serve_http(
        app,
        host=settings.host,
        port=settings.port,
        metrics_port=settings.metrics_port,
        access_log=False,
        log_config=None,
        server_header=False,
        ws_max_size=1024 * 1024,
        # The gateway decides the client IP itself (trusted proxies only).
        proxy_headers=False,
    )


def _exit_on_sigterm(_signum: int, _frame: Any) -> NoReturn:
    raise SystemExit(128 + signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(main())
