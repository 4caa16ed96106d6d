"""`python -m taskflow_auth_gateway serve`: the gateway's one process role."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from taskflow_auth_gateway.bootstrap import create_app
from taskflow_auth_gateway.config import GatewaySettings
from taskflow_common.logs import configure_logging
from taskflow_common.telemetry import init_telemetry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m taskflow_auth_gateway")
    parser.add_argument("role", choices=["serve"], help="serve: the HTTP/WebSocket gateway")
    parser.parse_args(argv)
    settings = GatewaySettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    init_telemetry(
        settings.otel_service_name or settings.service_name,
        otlp_endpoint=settings.otel_exporter_otlp_endpoint,
        otlp_protocol=settings.otel_exporter_otlp_protocol,
        disabled=settings.otel_sdk_disabled,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        # Our own access log (edge middleware) instead: one line per request, with ids.
        access_log=False,
        log_config=None,
        loop="uvloop",
        http="httptools",
        proxy_headers=False,
        server_header=False,
        ws_max_size=1024 * 1024,
        ws_per_message_deflate=settings.ws_compression,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
