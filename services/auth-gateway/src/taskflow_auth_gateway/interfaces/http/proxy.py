"""The proxy: JWT at the edge, per-user rate limit, then the request goes to its upstream.

Raw ASGI end to end (no framework routing on the hot path). The upstream sees the client's
request minus hop-by-hop and identity headers, plus X-Request-ID, X-Forwarded-*, and a
traceparent of the gateway's own span.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from urllib.parse import parse_qs

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from taskflow_auth_gateway.application.ports import (
    ClientDisconnectedError,
    Message,
    Receive,
    Scope,
    Send,
    Upstream,
    UpstreamProtocolError,
    UpstreamRefusedWebSocketError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from taskflow_auth_gateway.domain.headers import upstream_request_headers
from taskflow_auth_gateway.domain.ratelimit import Decision
from taskflow_auth_gateway.domain.routes import Route
from taskflow_auth_gateway.interfaces.http.limits import RateLimits
from taskflow_auth_gateway.interfaces.http.metrics import UPSTREAM_DURATION, UPSTREAM_RESPONSES
from taskflow_auth_gateway.interfaces.http.responses import (
    UNAUTHORIZED_HEADERS,
    invalid_token,
    send_problem,
)
from taskflow_auth_gateway.interfaces.http.route_templates import RouteTemplates
from taskflow_auth_gateway.interfaces.http.tracing import outgoing_headers, parent_context
from taskflow_common.auth import InvalidTokenError, JwtVerifier, Principal
from taskflow_common.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS
from taskflow_common.problems import Problem

log = logging.getLogger(__name__)
tracer = trace.get_tracer("taskflow_auth_gateway.proxy")

_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate"})
# The gateway's own API counts itself under this name too (api.py): one service in the RED
# dashboard and the SLO rules, whose availability is what clients of the gateway see.
SERVICE = "auth-gateway"
_ANSWER_STARTS = {"http.response.start", "websocket.http.response.start"}


class Proxy:
    def __init__(
        self,
        *,
        upstreams: Mapping[str, Upstream],
        tokens: JwtVerifier,
        limits: RateLimits,
    ) -> None:
        self.upstreams = upstreams
        self.tokens = tokens
        self.limits = limits
        self._in_flight = 0
        self.templates = RouteTemplates()

    async def authenticate(self, scope: Scope, send: Send) -> Principal | None:
        """The verified caller, or None after answering 401 (HTTP) / refusing the upgrade."""
        token = bearer_token(scope)
        if token:
            try:
                return await self.tokens.averify(token)
            except InvalidTokenError as exc:
                log.info("token refused: %s", exc, extra={"path": scope["path"]})
        await send_problem(scope, send, invalid_token(), UNAUTHORIZED_HEADERS)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send, route: Route) -> None:
        self._in_flight += 1
        started = time.perf_counter()
        status = 0

        async def counted_send(message: Message) -> None:
            # Every answer is counted, the gateway's own (401, 429, 503) as well as the
            # upstream's, per route template.
            nonlocal status
            if message["type"] in _ANSWER_STARTS:
                status = message["status"]
            elif message["type"] == "websocket.accept":
                status = 101
            await send(message)

        try:
            await self._forward(scope, receive, counted_send, route)
        finally:
            self._in_flight -= 1
            method = scope.get("method", "WS")
            answered = str(status or 499)  # nothing sent: the client went away first
            template = self.templates.label(route, scope["path"], status)
            HTTP_REQUESTS.labels(SERVICE, method, template, answered).inc()
            if scope["type"] == "http":  # a WebSocket's duration is its session, not latency
                HTTP_REQUEST_DURATION.labels(SERVICE, method, template).observe(
                    time.perf_counter() - started
                )

    async def _forward(self, scope: Scope, receive: Receive, send: Send, route: Route) -> None:
        principal: Principal | None = None
        if route.requires_token:
            principal = await self.authenticate(scope, send)
            if principal is None:
                return
        limit_key = f"user:{principal.sub}" if principal else f"ip:{scope['taskflow.client_ip']}"
        decision: Decision | None = None
        pending: asyncio.Future[Decision | None] | None = None
        if (
            self._in_flight <= _ALONGSIDE_AT_MOST
            and scope.get("method") in _SAFE_METHODS
            and self.limits.reserve_alongside("api", limit_key)
        ):
            # Far from its limit, and the gateway lightly loaded (where latency is what
            # matters; under load the round trip overlaps other requests anyway and the extra
            # task only costs CPU): check while the request travels.
            pending = asyncio.ensure_future(self.limits.hit_alongside("api", limit_key))
        else:
            decision = await self.limits.hit("api", limit_key)
            if decision is not None and not decision.allowed:
                await self.limits.refuse(scope, send, decision, "api")
                return

        upstream = self.upstreams.get(route.upstream)
        if upstream is None:
            await send_problem(scope, send, _unavailable(route.upstream))
            return

        parent = scope.get("taskflow.trace_context") or parent_context(scope["headers"])
        if server := scope.get("taskflow.server_span"):
            server.update_name(f"{scope.get('method', 'WS')} {route.label}")
        span = tracer.start_span(
            f"{scope.get('method', 'WS')} {route.label}", context=parent, kind=SpanKind.CLIENT
        )
        upstream_scope = self._upstream_scope(scope, principal, outgoing_headers(span))
        started = time.perf_counter()
        status = 0

        async def upstream_send(message: Message) -> None:
            nonlocal status, decision
            kind = message["type"]
            if kind == "http.response.start":
                if pending is not None:
                    decision = await pending
                    if decision is not None and not decision.allowed:
                        raise _RefusedAfterAllError(decision)
                status = message["status"]
                if decision is not None:
                    message["headers"] = [
                        *message.get("headers", ()),
                        *((n.lower().encode(), v.encode()) for n, v in decision.headers()),
                    ]
            elif kind == "websocket.accept":
                status = 101
                offered = scope.get("subprotocols") or []
                # A browser that offered subprotocols fails the handshake unless one is
                # selected; the token is never echoed back as the selected protocol.
                selected = message.get("subprotocol")
                if "bearer" in offered and (not selected or selected == bearer_token(scope)):
                    message["subprotocol"] = "bearer"
            elif kind == "websocket.http.response.start":
                status = message["status"]
            await send(message)

        try:
            if scope["type"] == "websocket":
                await upstream.forward_websocket(upstream_scope, receive, upstream_send)
            else:
                await upstream.forward_http(upstream_scope, receive, upstream_send)
        except UpstreamUnavailableError as exc:
            status = 503
            log.warning("upstream unavailable: %s", exc)
            await _answer(scope, send, status, _unavailable(route.upstream))
        except UpstreamTimeoutError as exc:
            status = 504
            log.warning("upstream timed out: %s", exc)
            await _answer(
                scope,
                send,
                status,
                Problem(
                    status=504,
                    type="upstream-timeout",
                    detail=f"The {route.upstream} service did not answer in time.",
                ),
            )
        except UpstreamProtocolError as exc:
            status = 502
            log.warning("upstream failed: %s", exc)
            await _answer(
                scope,
                send,
                status,
                Problem(
                    status=502,
                    type="upstream-error",
                    detail=f"The {route.upstream} service gave no valid answer.",
                ),
            )
        except _RefusedAfterAllError as exc:
            status = 429
            await self.limits.refuse(scope, send, exc.decision, "api")
        except ClientDisconnectedError:
            status = 499  # nginx's "client closed request": nothing is sent, only counted
            log.info("client went away mid-request", extra={"path": scope["path"]})
        except UpstreamRefusedWebSocketError as exc:
            status = exc.status
            await send_problem(
                scope,
                send,
                Problem(
                    status=exc.status, detail=f"The {route.upstream} service refused the WebSocket."
                ),
            )
        finally:
            span.set_attribute("http.response.status_code", status)
            span.end()
            UPSTREAM_RESPONSES.labels(route.upstream, str(status)).inc()
            UPSTREAM_DURATION.labels(route.upstream).observe(time.perf_counter() - started)

    def _upstream_scope(
        self, scope: Scope, principal: Principal | None, trace_headers: list[tuple[bytes, bytes]]
    ) -> Scope:
        headers = scope["headers"]
        extra = list(trace_headers)
        token = bearer_token(scope)
        if scope["type"] == "websocket" and token and not _has_authorization(headers):
            # Services verify tokens themselves (zero trust): hand them the one we checked.
            extra.append((b"authorization", b"Bearer " + token.encode()))
        forwarded = upstream_request_headers(
            [h for h in headers if h[0] not in _TRACE_HEADERS],
            request_id=scope["taskflow.request_id"],
            client_ip=scope["taskflow.client_ip"],
            forwarded_for=scope["taskflow.forwarded_for"],
            scheme=scope["taskflow.forwarded_proto"],
            host=scope["taskflow.forwarded_host"],
            extra=extra,
        )
        inner = dict(scope)
        inner["headers"] = forwarded
        inner["taskflow.chunked"] = any(
            n == b"transfer-encoding" and b"chunked" in v.lower() for n, v in headers
        )
        return inner


_SAFE_METHODS = frozenset({"GET", "HEAD"})
# With at most this many proxied requests in flight, a safe request's limit check runs
# alongside it.
_ALONGSIDE_AT_MOST = 4


class _RefusedAfterAllError(Exception):
    """The limit check that ran alongside a safe request said no: answer 429 instead."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("rate limited")
        self.decision = decision


async def _answer(scope: Scope, send: Send, status: int, problem: Problem) -> None:
    try:
        await send_problem(scope, send, problem)
    except Exception:  # the response had already started: nothing more can be said
        log.debug("could not send %s after the response started", status)


def _unavailable(name: str) -> Problem:
    return Problem(
        status=503,
        type="upstream-unavailable",
        detail=f"The {name} service is unavailable; retry later.",
    )


def _has_authorization(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(n == b"authorization" for n, _ in headers)


def bearer_token(scope: Scope) -> str | None:
    """Authorization: Bearer, or for WebSockets the `bearer, <jwt>` subprotocol pair or the
    `access_token` query parameter (for clients that cannot set either)."""
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    if scope["type"] != "websocket":
        return None
    offered: list[str] = list(scope.get("subprotocols") or ())
    lowered = [p.lower() for p in offered]
    if "bearer" in lowered:
        index = lowered.index("bearer")
        if index + 1 < len(offered):
            return str(offered[index + 1])
    query = scope.get("query_string", b"")
    if b"access_token=" in query:
        values = parse_qs(query.decode("latin-1")).get("access_token")
        if values and values[0]:
            return str(values[0])
    return None
