"""W3C trace context at the edge, without the generic propagator machinery.

The composite propagator (context lookups, getter/setter indirection) cost more per request
than the span itself; the proxy only needs `traceparent`/`tracestate` in and out.
"""

from __future__ import annotations

import random
import re

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    TraceState,
)

_tracer = trace.get_tracer("taskflow_auth_gateway.edge")
_TRACEPARENT = re.compile(rb"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def parent_context(headers: list[tuple[bytes, bytes]]) -> Context | None:
    """The client's trace as a parent context, if it sent a well-formed traceparent."""
    traceparent = tracestate = None
    for name, value in headers:
        if name == b"traceparent":
            traceparent = value
        elif name == b"tracestate":
            tracestate = value
    if traceparent is None:
        return None
    match = _TRACEPARENT.fullmatch(traceparent.strip())
    if match is None:
        return None
    trace_id, span_id = int(match.group(1), 16), int(match.group(2), 16)
    if not trace_id or not span_id:
        return None
    state = None
    if tracestate:
        state = TraceState.from_header([tracestate.decode("latin-1")])
    parent = SpanContext(
        trace_id,
        span_id,
        is_remote=True,
        trace_flags=TraceFlags(int(match.group(3), 16)),
        trace_state=state,
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


def server_span(method: str, headers: list[tuple[bytes, bytes]]) -> tuple[Span, bytes]:
    """The gateway's SERVER span for one request (the client's trace continued, or a new one)
    and the W3C `traceresponse` value naming it. With tracing off it is a non-recording span
    with fresh ids, so the client and every upstream still share one trace id."""
    span = _tracer.start_span(
        method, context=parent_context(headers), kind=SpanKind.SERVER,
        attributes={"http.request.method": method},
    )  # fmt: skip
    context = span.get_span_context()
    if not span.is_recording():
        # No SDK: the span is the client's context itself (or invalid); give it its own id.
        context = SpanContext(
            context.trace_id if context.is_valid else random.getrandbits(128) or 1,
            random.getrandbits(64) or 1,
            is_remote=False,
            trace_flags=context.trace_flags if context.is_valid else TraceFlags(0),
            trace_state=context.trace_state if context.is_valid else None,
        )
        span = NonRecordingSpan(context)
    value = b"00-%032x-%016x-%02x" % (context.trace_id, context.span_id, context.trace_flags)
    return span, value


def outgoing_headers(span: Span) -> list[tuple[bytes, bytes]]:
    """traceparent (and tracestate) naming `span` as the upstream's parent."""
    context = span.get_span_context()
    if not context.is_valid:
        # No tracer provider and no client trace: still give the upstream a trace to join.
        trace_id, span_id = random.getrandbits(128) or 1, random.getrandbits(64) or 1
        return [(b"traceparent", b"00-%032x-%016x-00" % (trace_id, span_id))]
    headers = [
        (
            b"traceparent",
            b"00-%032x-%016x-%02x" % (context.trace_id, context.span_id, context.trace_flags),
        )
    ]
    if context.trace_state:
        headers.append((b"tracestate", context.trace_state.to_header().encode()))
    return headers
