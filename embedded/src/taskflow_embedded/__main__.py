"""`python -m taskflow_embedded`: all of TaskFlow on http://127.0.0.1:8080 in one process."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

from taskflow_common.logs import configure_logging
from taskflow_common.telemetry import init_telemetry
from taskflow_embedded.composition import ProductionRefusedError, build_embedded_app
from taskflow_embedded.config import EmbeddedSettings


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
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    init_telemetry(
        settings.otel_service_name or settings.service_name,
        otlp_endpoint=settings.otel_exporter_otlp_endpoint,
        otlp_protocol=settings.otel_exporter_otlp_protocol,
        disabled=settings.otel_sdk_disabled,
    )
    try:
        app = build_embedded_app(settings)
    except ProductionRefusedError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(
        f"TaskFlow (embedded) on {settings.public_url}  — API docs: {settings.public_url}/docs",
        file=sys.stderr,
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        server_header=False,
        ws_max_size=1024 * 1024,
        # The gateway decides the client IP itself (trusted proxies only).
        proxy_headers=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
