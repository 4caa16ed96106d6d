"""Client spans for the tasks database, one per statement or transaction that matters
(`taskflow_common.db_tracing` says why these are not the asyncpg auto-instrumentation)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from taskflow_common.db_tracing import db_span as _db_span


@contextmanager
def db_span(operation: str, summary: str, system: str = "postgresql") -> Iterator[Span]:
    with _db_span(operation, summary, namespace="tasks", system=system) as span:
        yield span


_tracer = trace.get_tracer("taskflow.tasks.outbox")


def record_in_each_trace(
    name: str,
    carriers: Iterable[Mapping[str, str]],
    *,
    start_ns: int,
    end_ns: int,
    attributes: Mapping[str, AttributeValue],
) -> None:
    """One statement that served many traces (the relay's claim or settle of a batch): a
    CLIENT span with its real timing in each trace it continued, after the fact.

    A row without a sampled trace gets none, so a poll never starts a trace of its own.
    """
    for carrier in carriers:
        parent = propagate.extract(carrier)
        if not trace.get_current_span(parent).get_span_context().trace_flags.sampled:
            continue
        span = _tracer.start_span(
            name,
            context=parent,
            kind=SpanKind.CLIENT,
            start_time=start_ns,
            attributes={"db.system.name": "postgresql", "db.namespace": "tasks", **attributes},
        )
        span.end(end_time=end_ns)
