"""`python -m taskflow_admin <role>`: serve | migrate | manage <django command...>."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m taskflow_admin")
    parser.add_argument("role", choices=["serve", "migrate", "manage"])
    args, extra = parser.parse_known_args(argv)

    from taskflow_admin import bootstrap
    from taskflow_common.djangoweb.schema import migrate_schema
    from taskflow_common.instrumentation import instrument

    bootstrap.setup_django()
    cfg = bootstrap.configure()
    instrument("httpx", "psycopg")
    if args.role == "manage":
        from django.core.management import execute_from_command_line

        execute_from_command_line(["taskflow_admin", *extra])
        return 0
    migrate_schema(cfg.db_schema, verbosity=1 if args.role == "migrate" else 0)
    if args.role == "serve":
        from taskflow_common.listeners import serve_http

        serve_http(
            bootstrap.build_asgi(),
            host=cfg.host,
            port=cfg.port,
            metrics_port=cfg.metrics_port,
            lifespan="on",
            log_config=None,
            proxy_headers=False,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
