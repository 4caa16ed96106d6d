"""`python -m taskflow_auth_gateway serve`: the gateway's one process role."""

from __future__ import annotations

import argparse
import sys

from taskflow_auth_gateway.bootstrap import create_app
from taskflow_auth_gateway.config import GatewaySettings
from taskflow_common.listeners import serve_http
from taskflow_common.process import start_observability


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m taskflow_auth_gateway")
    parser.add_argument("role", choices=["serve"], help="serve: the HTTP/WebSocket gateway")
    parser.parse_args(argv)
    settings = GatewaySettings()
    start_observability(settings, settings.service_name)
    serve_http(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        metrics_port=settings.metrics_port,
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
