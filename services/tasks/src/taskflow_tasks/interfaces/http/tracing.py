"""One OpenTelemetry SERVER span per HTTP request, and nothing more.

FastAPI's native telemetry records a dozen semantic-convention attributes per request (URL
reconstruction, query redaction, peer address...), which measured as the largest single
cost of a task read. This keeps what traces need: the caller's W3C context, a span named
after the route template, the method, route and status code.
"""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_PROPAGATION_HEADERS = (b"traceparent", b"tracestate", b"baggage")


class ServerSpanMiddleware:
    def __init__(self, app: ASGIApp, untraced_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.untraced_paths = untraced_paths
        self.tracer = trace.get_tracer("taskflow.tasks.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.untraced_paths:
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _PROPAGATION_HEADERS
        }
        method = scope["method"]
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self.tracer.start_as_current_span(
            method,
            context=propagate.extract(carrier) if carrier else None,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
        ) as span:
            try:
                await self.app(scope, receive, send_with_status)
            finally:
                if span.is_recording():
                    route = getattr(scope.get("route"), "path", None)
                    if route:
                        span.update_name(f"{method} {route}")
                        span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(StatusCode.ERROR)
