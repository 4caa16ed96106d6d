"""The suggest service's Prometheus metrics (names: taskflow_suggest_<thing>_<unit>)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MODEL_LATENCY = Histogram(
    "taskflow_suggest_model_latency_seconds",
    "Time an LLM call took (including a repair retry), by model and outcome.",
    ["model", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0),
)
FALLBACKS = Counter(
    "taskflow_suggest_fallbacks_total",
    "Suggestions served by the heuristic instead of the model, by reason.",
    ["reason"],
)
CACHE_HITS = Counter("taskflow_suggest_cache_hits_total", "Model answers served from the cache.")
CACHE_MISSES = Counter(
    "taskflow_suggest_cache_misses_total", "Model lookups that missed the cache."
)
SUGGESTIONS = Counter(
    "taskflow_suggest_suggestions_total",
    "Suggestions made, by source (llm or heuristic) and trigger (api or event).",
    ["source", "trigger"],
)
FEEDBACK = Counter(
    "taskflow_suggest_feedback_total",
    "Feedback received on suggestions, by outcome (accepted or rejected).",
    ["outcome"],
)
ACCEPTANCE_RATIO = Gauge(
    "taskflow_suggest_acceptance_ratio",
    "Accepted over all feedback, over every suggestion ever rated (read from the database).",
)
BREAKER_STATE = Gauge(
    "taskflow_suggest_breaker_state",
    "The model circuit breaker: 0 closed, 1 half-open, 2 open.",
)
STALE_EVENTS = Counter(
    "taskflow_suggest_stale_events_total",
    "Task events not answered because a newer snapshot of the task was answered already.",
)
