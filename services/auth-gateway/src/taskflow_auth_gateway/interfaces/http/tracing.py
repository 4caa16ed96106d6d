"""W3C trace context at the edge, without the generic propagator machinery.

The composite propagator (context lookups, getter/setter indirection) cost more per request
than the span itself; the proxy only needs `traceparent`/`tracestate` in and out.
"""

from __future__ import annotations

import random
import re

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, TraceFlags, TraceState

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
