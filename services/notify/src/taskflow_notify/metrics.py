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
FEED_APPENDED = Counter(
    "taskflow_notify_feed_appended_total",
    "Frames stored in users' change feeds.",
)
FEED_OLDEST_AGE = Gauge(
    "taskflow_notify_feed_oldest_entry_age_seconds",
    "Age of the oldest retained change-feed entry (how far back a sync token is served).",
    multiprocess_mode="max",
)
FEED_PRUNED = Counter(
    "taskflow_notify_feed_pruned_total",
    "Change-feed entries dropped by retention (age or per-user size).",
)
FEED_GAPS_FILLED = Counter(
    "taskflow_notify_feed_gap_frames_total",
    "Frames a WebSocket connection sent from the feed because its live stream had a gap.",
)
FEED_LAG = Histogram(
    "taskflow_notify_feed_lag_seconds",
    "From an event's occurred_at to its frames being stored in the change feed.",
    buckets=DELIVERY_LATENCY_BUCKETS,
)
LIVE_PUBLISH_FAILED = Counter(
    "taskflow_notify_live_publish_failed_total",
    "Channel-layer publishes that failed (the event is retried, clients fill from the feed).",
)
