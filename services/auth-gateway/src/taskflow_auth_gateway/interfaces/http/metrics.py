"""The gateway's own Prometheus metrics (names: taskflow_gateway_*)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from taskflow_common.metrics import LATENCY_BUCKETS

UPSTREAM_RESPONSES = Counter(
    "taskflow_gateway_upstream_responses_total",
    "Proxied requests by upstream and status the client got (502/503/504: the gateway's own).",
    ["upstream", "status"],
)
UPSTREAM_DURATION = Histogram(
    "taskflow_gateway_upstream_duration_seconds",
    "Time from forwarding a request to the end of its response, by upstream.",
    ["upstream"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMITED = Counter(
    "taskflow_gateway_rate_limited_total",
    "Requests refused with 429, by route group.",
    ["group"],
)
RATE_LIMITER_ERRORS = Counter(
    "taskflow_gateway_rate_limiter_errors_total",
    "Rate-limit checks that failed (the request was let through: fail open).",
)
