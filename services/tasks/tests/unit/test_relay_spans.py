"""The relay's claim and settle, one statement for a whole batch, appear in the trace of each
event they carried, and never start a trace of their own."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from taskflow_common.telemetry import current_provider, init_telemetry
from taskflow_tasks.infrastructure.outbox import PendingEvent, _trace_batch


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = init_telemetry("taskflow-tasks-unit") or current_provider()
    assert provider is not None, "telemetry must be enabled for trace tests"
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def _row(traceparent: str | None) -> PendingEvent:
    return PendingEvent(uuid4(), {}, traceparent, None, datetime.now(UTC))


def test_claim_and_settle_are_spans_in_each_sampled_trace_with_the_batch_timing(spans):
    spans.clear()
    sampled = [f"00-{uuid4().hex}-{uuid4().hex[:16]}-01" for _ in range(2)]
    unsampled = f"00-{uuid4().hex}-{uuid4().hex[:16]}-00"
    rows = [_row(sampled[0]), _row(None), _row(unsampled), _row(sampled[1])]

    _trace_batch(rows, (1_000, 2_000), (5_000, 7_000), sent=[rows[0].id])

    recorded = spans.get_finished_spans()
    by_trace = {}
    for span in recorded:
        by_trace.setdefault(format(span.context.trace_id, "032x"), []).append(span)
    # Only the two sampled rows' traces; the row without a trace and the unsampled one get none.
    assert set(by_trace) == {tp.split("-")[1] for tp in sampled}
    for traceparent in sampled:
        trace_id, parent_id = traceparent.split("-")[1:3]
        claim, settle = sorted(by_trace[trace_id], key=lambda s: s.start_time)
        assert (claim.name, settle.name) == ("UPDATE outbox (claim)", "UPDATE outbox (settle)")
        assert (claim.start_time, claim.end_time) == (1_000, 2_000)
        assert (settle.start_time, settle.end_time) == (5_000, 7_000)
        for span in (claim, settle):
            assert format(span.parent.span_id, "016x") == parent_id
            assert span.attributes["db.operation.batch.size"] == 4
        assert settle.attributes["taskflow.outbox.sent"] == 1
