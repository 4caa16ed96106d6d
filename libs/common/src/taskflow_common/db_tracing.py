"""CLIENT spans for database work that the maintained instrumentations cannot trace cheaply.

The asyncpg auto-instrumentation doubled the CPU cost of each query (measured in the tasks
service), and the SQLAlchemy one does not support SQLAlchemy 2.1. Services on asyncpg wrap
the statements that matter in these spans instead; they carry the OpenTelemetry database
semantic conventions. (Django's psycopg statements use the maintained instrumentation:
`taskflow_common.instrumentation`.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

_tracer = trace.get_tracer("taskflow.db")


@contextmanager
def db_span(
    operation: str, summary: str, *, namespace: str, system: str = "postgresql"
) -> Iterator[Span]:
    """A span named by its query summary (`INSERT suggestions`), in database `namespace`."""
    with _tracer.start_as_current_span(
        summary,
        kind=SpanKind.CLIENT,
        attributes={
            "db.system.name": system,
            "db.operation.name": operation,
            "db.namespace": namespace,
            "db.query.summary": summary,
        },
    ) as span:
        yield span
