"""What every process's composition root does first: logs, telemetry, the token verifier."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from socketserver import ThreadingMixIn
from typing import Any, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from taskflow_common.auth import JwksCache, JwksSource, JwtVerifier, http_jwks_source
from taskflow_common.logs import configure_logging
from taskflow_common.settings import BaseServiceSettings
from taskflow_common.telemetry import init_telemetry

T = TypeVar("T")


def start_observability(settings: BaseServiceSettings, default_name: str) -> None:
    """JSON logs and OpenTelemetry for this process, named by OTEL_SERVICE_NAME if set."""
    name = settings.otel_service_name or default_name
    configure_logging(name, settings.log_level, settings.log_json)
    init_telemetry(
        name,
        environment=settings.env,
        otlp_endpoint=settings.otel_exporter_otlp_endpoint,
        otlp_protocol=settings.otel_exporter_otlp_protocol,
        disabled=settings.otel_sdk_disabled,
    )


def verifier_from_settings(
    settings: BaseServiceSettings,
    *,
    jwks: JwksSource | None = None,
    issuer: str | None = None,
    audience: str | None = None,
) -> JwtVerifier:
    """The bearer-token verifier; the embedded mode passes the in-process identity's parts."""
    return JwtVerifier(
        issuer=issuer or settings.oidc_issuer,
        audience=audience or settings.oidc_audience,
        jwks=JwksCache(
            jwks or http_jwks_source(settings.jwks_url),
            min_refresh_interval=settings.jwks_min_refresh_seconds,
        ),
        leeway_seconds=settings.jwt_leeway_seconds,
    )


class Heartbeat:
    """When a background role's event loop last ran: its liveness, for the metrics port's /healthz.

    The exporter answers from its own thread, so answering alone proves nothing about the loop
    doing the work; a loop blocked for `stale_after` seconds stops beating and /healthz says 503,
    which makes the kubelet restart the pod. A process that never beats (the Celery worker, whose
    loop is Celery's own) is alive while it answers.
    """

    def __init__(self, stale_after: float = 60.0) -> None:
        self.stale_after = stale_after
        self._last: float | None = None

    def beat(self) -> None:
        self._last = time.monotonic()

    @property
    def last_beat(self) -> float | None:
        return self._last

    def stalled_for(self) -> float | None:
        """Seconds since the last beat when that is more than `stale_after`, else None."""
        if self._last is None:
            return None
        since = time.monotonic() - self._last
        return since if since > self.stale_after else None


HEARTBEAT = Heartbeat()
HEARTBEAT_INTERVAL_SECONDS = 5.0

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _ops_app(heartbeat: Heartbeat) -> WsgiApp:
    from prometheus_client import make_wsgi_app

    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            stalled = heartbeat.stalled_for()
            status, body = (
                ("200 OK", b"ok\n")
                if stalled is None
                else (
                    "503 Service Unavailable",
                    f"event loop stalled for {stalled:.0f}s\n".encode(),
                )
            )
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [body]
        if path == "/metrics":
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found\n"]

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes and probes every few seconds: no access log line for each."""


def serve_metrics(
    port: int | None, host: str = "127.0.0.1", heartbeat: Heartbeat = HEARTBEAT
) -> bool:
    """/metrics and /healthz on their own port, for roles without an HTTP server (consumers,
    workers): the PodMonitor scrapes the first, the kubelet's liveness probe asks the second.

    Returns False (and logs) when the port is taken, so a second copy on one host still runs.
    """
    if port is None:
        return False
    try:
        server = make_server(
            host, port, _ops_app(heartbeat), _ThreadingServer, handler_class=_QuietHandler
        )
    except OSError as exc:
        logging.getLogger(__name__).warning("metrics port %s unavailable: %s", port, exc)
        return False
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return True


async def _beating(main: Coroutine[Any, Any, T], heartbeat: Heartbeat) -> T:
    async def beat_forever() -> None:
        while True:
            heartbeat.beat()
            await asyncio.sleep(HEARTBEAT_INTERVAL_SECONDS)

    beats = asyncio.ensure_future(beat_forever())
    try:
        return await main
    finally:
        beats.cancel()


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` for a background role's main coroutine, on uvloop when it is installed.

    uvloop (libuv's event loop, which the HTTP roles already get from uvicorn) spends much
    less CPU per socket read and write than the pure-Python selector loop, and the consumers
    and the relay do little else.
    """
    beating = _beating(main, HEARTBEAT)  # the loop's liveness for /healthz (Heartbeat)
    try:
        import uvloop
    except ImportError:  # uvicorn[standard] brings it everywhere the services run
        return asyncio.run(beating)
    return uvloop.run(beating)
