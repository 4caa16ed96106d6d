"""Prometheus helpers: names follow taskflow_<area>_<thing>_<unit>."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST

# Latency buckets for request/handler timings, in seconds (1 ms .. 10 s).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# An event's age at consumption reaches minutes when a consumer was down or the outbox backed
# up; the lag alert's threshold (30 s by default) must sit inside these bounds to ever fire.
LAG_BUCKETS = (*LATENCY_BUCKETS, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)


def render_metrics(registry: CollectorRegistry = REGISTRY) -> bytes:
    """The text exposition of a registry, for a /metrics endpoint in any framework."""
    return generate_latest(registry)


HTTP_REQUESTS = Counter(
    "taskflow_http_requests_total",
    "HTTP requests served, by service, method, route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "taskflow_http_request_duration_seconds",
    "HTTP request latency by service, method and route template.",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "taskflow_events_published_total",
    "Events published to the bus (confirmed by the broker), by event type.",
    ["event_type"],
)
EVENTS_CONSUMED = Counter(
    "taskflow_events_consumed_total",
    "Events handled by a consumer, by consumer, event type and outcome.",
    ["consumer", "event_type", "outcome"],
)
EVENT_HANDLER_DURATION = Histogram(
    "taskflow_events_handler_duration_seconds",
    "Time a consumer's handler took, by consumer.",
    ["consumer"],
    buckets=LATENCY_BUCKETS,
)
EVENT_LAG = Histogram(
    "taskflow_events_lag_seconds",
    "Age of an event (now minus occurred_at) when a consumer starts handling it.",
    ["consumer"],
    buckets=LAG_BUCKETS,
)
