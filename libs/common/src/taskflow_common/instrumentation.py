"""The maintained OpenTelemetry instrumentations, turned on by a distributed role's root.

Each is imported only when asked for, so a service without the library (the extra that brings
the instrumentation) never imports it. Not for the embedded mode: there the gateway's proxy
and the in-process calls would be traced twice.

- `httpx`: a CLIENT span per outbound request (webhooks, Keycloak's admin API, suggest's calls
  to tasks, the LLM provider), with `traceparent` injected.
- `redis`: a CLIENT span per Redis command (the channel layer, caches, the user directory).
- `psycopg`: a CLIENT span per statement on psycopg 3 (Django's ORM in notify and admin).

The tasks service keeps its own spans over asyncpg (its `db/tracing.py` says why); the gateway
keeps its own proxy spans.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

Library = Literal["httpx", "redis", "psycopg"]

HEALTH_AND_METRICS = "healthz,readyz,metrics"


def instrument(*libraries: Library) -> None:
    """Turn the named instrumentations on for this process (again: a no-op)."""
    for library in libraries:
        _INSTRUMENTORS[library]()


def _httpx() -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def _redis() -> None:
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    instrumentor = RedisInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def _psycopg() -> None:
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    instrumentor = PsycopgInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        # No SQL comments: they would make every statement's text unique to its trace and
        # defeat Postgres's statement statistics.
        instrumentor.instrument(enable_commenter=False, skip_dep_check=True)


_INSTRUMENTORS: dict[Library, Callable[[], None]] = {
    "httpx": _httpx,
    "redis": _redis,
    "psycopg": _psycopg,
}


def asgi_server_spans(app: Any) -> Any:
    """`app` with a SERVER span per HTTP request and per WebSocket connection (W3C context
    from the caller's headers). Probes and scrapes are not traced; the per-message
    receive/send spans are left out (a connection lives for hours; its pushes have spans of
    their own, in the trace of the change they carry)."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(
        app, excluded_urls=HEALTH_AND_METRICS, exclude_spans=["receive", "send"]
    )
