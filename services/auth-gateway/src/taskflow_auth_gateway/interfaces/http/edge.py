"""The outermost layer, around everything the gateway serves (raw ASGI, for speed).

It decides the request id and the client IP, refuses oversized URLs, headers and bodies
(bodies without reading them whole: Content-Length first, then a byte count while streaming),
adds security headers, X-Request-ID and the W3C `traceresponse` (the trace id a client quotes
in a bug report) to every response, opens the request's SERVER span, and writes the access log
(whose `access_token` query values the logging handler's filter redacts, as for every service).
"""

from __future__ import annotations

import logging
import time

from opentelemetry import trace

from taskflow_auth_gateway.application.ports import Message, Receive, Scope, Send
from taskflow_auth_gateway.domain.headers import TrustedProxies, request_id_from
from taskflow_auth_gateway.interfaces.http.responses import send_problem
from taskflow_auth_gateway.interfaces.http.tracing import server_span
from taskflow_common.problems import Problem

access_log = logging.getLogger("taskflow_auth_gateway.access")

_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Swagger UI's page loads its script and styles from jsDelivr (FastAPI's default).
_DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"img-src 'self' data: https://fastapi.tiangolo.com; frame-ancestors 'none'"
)
_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class BodyTooLargeError(Exception):
    """Raised from receive() once a streamed body passes the limit."""


class EdgeMiddleware:
    def __init__(
        self,
        app: object,
        *,
        max_body_bytes: int,
        max_header_bytes: int,
        max_header_count: int,
        max_url_bytes: int,
        trusted_proxies: TrustedProxies,
        log_access: bool = True,
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.max_header_count = max_header_count
        self.max_url_bytes = max_url_bytes
        self.trusted = trusted_proxies
        self.log_access = log_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)  # type: ignore[operator]
            return
        started = time.perf_counter()
        headers = scope["headers"]
        request_id = request_id_from(headers)
        peer = scope["client"][0] if scope.get("client") else "unknown"
        client_ip, forwarded_for = self.trusted.client_ip_and_chain(peer, headers)
        scope["taskflow.request_id"] = request_id
        scope["taskflow.client_ip"] = client_ip
        scope["taskflow.forwarded_for"] = forwarded_for
        own_scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        scheme, host = self.trusted.scheme_and_host(peer, headers, own_scheme)
        scope["taskflow.forwarded_proto"] = scheme
        scope["taskflow.forwarded_host"] = host

        span, traceresponse = server_span(scope.get("method", "WS"), headers)
        # The proxy's client span and the gateway's own API continue this span.
        scope["taskflow.trace_context"] = trace.set_span_in_context(span)
        scope["taskflow.server_span"] = span

        path: str = scope["path"]
        extra = (
            *_SECURITY_HEADERS,
            (b"x-request-id", request_id),
            (b"traceresponse", traceresponse),
        )
        csp = (
            None
            if path.startswith("/admin")
            else (_DOCS_CSP if path.startswith("/docs") else _API_CSP)
        )
        state = {"status": 0, "started": False, "too_large": False}

        async def edge_send(message: Message) -> None:
            kind_ = message["type"]
            if state["too_large"] and not state["started"]:
                return  # the app's answer to a body we cut off; the 413 is sent below
            if kind_ == "http.response.start" or kind_ == "websocket.http.response.start":
                state["started"] = True
                state["status"] = message["status"]
                out = list(message.get("headers") or ())
                present = {name.lower() for name, _ in out}
                out.extend(h for h in extra if h[0] not in present)
                if csp is not None and b"content-security-policy" not in present:
                    out.append((b"content-security-policy", csp))
                message["headers"] = out
            elif kind_ == "websocket.accept":
                state["started"] = True
                state["status"] = 101
            await send(message)

        refusal = self._refusal(scope, headers)
        try:
            if refusal is not None:
                await send_problem(scope, edge_send, refusal)
            elif kind == "http":
                await self.app(scope, self._limited(receive, state), edge_send)  # type: ignore[operator]
            else:
                await self.app(scope, receive, edge_send)  # type: ignore[operator]
        except BodyTooLargeError:
            pass
        except Exception:
            if not state["too_large"]:
                raise
        finally:
            if state["too_large"] and not state["started"]:
                state["too_large"] = False  # let our own 413 through edge_send
                await send_problem(scope, edge_send, _too_large(self.max_body))
            span.set_attribute("http.response.status_code", state["status"])
            span.end()
            if self.log_access:
                # Under the request's span, so the access line carries its trace_id/span_id.
                with trace.use_span(span, end_on_exit=False):
                    self._log(scope, state["status"], started, request_id, client_ip)

    def _limited(self, receive: Receive, state: dict[str, bool | int]) -> Receive:
        limit = self.max_body
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    state["too_large"] = True
                    raise BodyTooLargeError
            return message

        return limited_receive

    def _refusal(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> Problem | None:
        if len(headers) > self.max_header_count or (
            sum(len(n) + len(v) for n, v in headers) > self.max_header_bytes
        ):
            return Problem(
                status=431,
                title="Request Header Fields Too Large",
                type="headers-too-large",
                detail=f"Request headers exceed {self.max_header_bytes} bytes "
                f"or {self.max_header_count} fields.",
            )
        raw_path: bytes = scope.get("raw_path") or b""
        if len(raw_path) + len(scope.get("query_string", b"")) > self.max_url_bytes:
            return Problem(
                status=414,
                title="URI Too Long",
                type="uri-too-long",
                detail=f"The request target exceeds {self.max_url_bytes} bytes.",
            )
        if scope["type"] != "http":
            return None
        for name, value in headers:
            if name == b"content-length":
                if not value.isdigit():
                    return Problem(
                        status=400,
                        type="bad-content-length",
                        detail="Content-Length is not a number.",
                    )
                if int(value) > self.max_body:
                    return _too_large(self.max_body)
        return None

    def _log(
        self, scope: Scope, status: int | bool, started: float, request_id: bytes, client: str
    ) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        access_log.info(
            "%s %s%s %s",
            scope.get("method", "WS"),
            scope["path"],
            ("?" + query) if query else "",
            status,
            extra={
                "request_id": request_id.decode("latin-1"),
                "client_ip": client,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "status": status,
            },
        )


def _too_large(limit: int) -> Problem:
    return Problem(
        status=413,
        type="body-too-large",
        detail=f"The request body exceeds the limit of {limit} bytes.",
    )
