import json
import logging

from opentelemetry import trace

from taskflow_common.logs import JsonFormatter
from taskflow_common.telemetry import init_telemetry


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("taskflow.test", logging.INFO, __file__, 1, message, None, None)


def test_log_lines_are_json_with_the_current_trace_and_span(span_exporter):
    formatter = JsonFormatter("taskflow-tests")

    with trace.get_tracer("test").start_as_current_span("work") as span:
        line = json.loads(formatter.format(record("hello")))

    context = span.get_span_context()
    assert line["message"] == "hello"
    assert line["service"] == "taskflow-tests"
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")


def test_log_lines_outside_a_span_have_no_trace_ids():
    line = json.loads(JsonFormatter("taskflow-tests").format(record("plain")))

    assert "trace_id" not in line


def test_telemetry_is_initialised_once_per_process(span_exporter):
    first = init_telemetry("taskflow-common-tests")
    second = init_telemetry("another-name")

    assert first is second
