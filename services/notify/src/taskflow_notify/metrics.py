"""Notify's Prometheus metrics (names follow taskflow_<area>_<thing>_<unit>)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERY_LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)

WS_CONNECTIONS = Gauge(
    "taskflow_notify_websocket_connections",
    "Open WebSocket connections on /ws/notifications in this process.",
    multiprocess_mode="livesum",
)
DELIVERIES = Counter(
    "taskflow_notify_deliveries_total",
    "Notification deliveries by channel (websocket, email, webhook) and outcome.",
    ["channel", "outcome"],
)
EVENT_TO_DELIVERY = Histogram(
    "taskflow_notify_event_to_delivery_seconds",
    "From an event's occurred_at to its delivery (WebSocket send, SMTP acceptance, webhook 2xx).",
    ["channel"],
    buckets=DELIVERY_LATENCY_BUCKETS,
)
NOTIFICATIONS_CREATED = Counter(
    "taskflow_notify_notifications_created_total",
    "Notifications stored, by kind.",
    ["kind"],
)
