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


def test_spans_name_service_version_and_environment_and_keep_what_the_pod_adds(monkeypatch):
    from taskflow_common.telemetry import release_version, service_resource

    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    plain = service_resource("taskflow-tasks", environment="production", version="1.2.3")
    assert plain.attributes["service.name"] == "taskflow-tasks"
    assert plain.attributes["service.version"] == "1.2.3"
    assert plain.attributes["deployment.environment"] == "production"
    assert release_version() != "0+unknown"

    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES",
        "service.version=2.0.0,k8s.pod.name=tasks-7f9,k8s.namespace.name=taskflow,service.name=x",
    )
    in_a_pod = service_resource("taskflow-tasks", environment="production", version="1.2.3")
    assert in_a_pod.attributes["service.version"] == "2.0.0"  # the image's, from the chart
    assert in_a_pod.attributes["k8s.pod.name"] == "tasks-7f9"
    assert in_a_pod.attributes["k8s.namespace.name"] == "taskflow"
    assert in_a_pod.attributes["service.name"] == "taskflow-tasks"  # OTEL_SERVICE_NAME's job


def test_credentials_are_redacted_from_query_strings_and_authorization_values():
    from taskflow_common.logs import redact_secrets

    assert redact_secrets("a=1&access_token=eyJ.x.y&b=2") == "a=1&access_token=REDACTED&b=2"
    assert redact_secrets("GET /cb?state=s&code=abc HTTP/1.1") == (
        "GET /cb?state=s&code=REDACTED HTTP/1.1"
    )
    assert redact_secrets("Authorization: Bearer eyJ.x.y") == "Authorization: Bearer REDACTED"
    assert redact_secrets("worker exited with code=1") == "worker exited with code=1"


def test_the_logging_handler_redacts_every_loggers_records_whatever_their_arguments():
    import io

    from taskflow_common.logs import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("taskflow-tests", "INFO", json_logs=True)
        buffer = io.StringIO()
        for handler in root.handlers:
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(buffer)
        # uvicorn's WebSocket handshake line, logged on a library logger that propagates.
        logging.getLogger("uvicorn.error").info(
            '%s - "WebSocket %s" [accepted]',
            "127.0.0.1:1",
            "/ws/notifications?access_token=eyJ.secret.sig",
        )
        line = json.loads(buffer.getvalue())
    finally:
        root.handlers[:], root.level = saved
    assert line["message"] == (
        '127.0.0.1:1 - "WebSocket /ws/notifications?access_token=REDACTED" [accepted]'
    )
