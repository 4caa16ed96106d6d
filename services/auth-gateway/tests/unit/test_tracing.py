from opentelemetry.sdk.trace import TracerProvider

from taskflow_auth_gateway.interfaces.http.tracing import outgoing_headers, parent_context

CLIENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_the_gateway_span_continues_the_client_trace():
    tracer = TracerProvider().get_tracer("test")
    parent = parent_context([(b"traceparent", CLIENT), (b"tracestate", b"vendor=1")])
    span = tracer.start_span("proxy", context=parent)
    headers = dict(outgoing_headers(span))
    _version, trace_id, span_id, flags = headers[b"traceparent"].split(b"-")
    assert trace_id == b"0af7651916cd43dd8448eb211c80319c"
    assert span_id != b"b7ad6b7169203331"
    assert flags == b"01"
    assert headers[b"tracestate"] == b"vendor=1"


def test_malformed_or_zero_traceparents_start_a_new_trace():
    for bad in (
        b"garbage",
        b"00-" + b"0" * 32 + b"-b7ad6b7169203331-01",
        b"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    ):
        assert parent_context([(b"traceparent", bad)]) is None
    span = TracerProvider().get_tracer("test").start_span("proxy", context=None)
    assert dict(outgoing_headers(span))[b"traceparent"].startswith(b"00-")
