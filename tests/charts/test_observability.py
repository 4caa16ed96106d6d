"""Alert rules and dashboards reference only metrics the services really export, and the
event topology the chart declares is the one the code declares.

Static checks: a metric's definition (prometheus_client Counter/Gauge/Histogram/Summary) is
found in the sources and turned into the names it is exported under (a Counter gets _total,
a Histogram _bucket/_count/_sum); every name the PromQL uses must be among them, or among the
documented metrics of an exporter the release runs (tests/charts/known_metrics/).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SOURCES = [REPO / "libs" / "common" / "src", *sorted((REPO / "services").glob("*/src"))]
DEFINITION = re.compile(r'\b(Counter|Gauge|Histogram|Summary)\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"')
# A metric in PromQL: a name followed by a selector, a range or an offset, or any taskflow_ name.
SELECTED = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{|\[)")
TASKFLOW_NAME = re.compile(r"\btaskflow_[a-z0-9_]+\b")
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "and",
                "or", "unless", "bool"}  # fmt: skip
# Exporters we do not write: <exporter>.txt lists the names its own documentation gives.
KNOWN_METRICS = Path(__file__).parent / "known_metrics"
# Which rendered object runs each exporter: its names count only in a release that has it.
EXPORTER_RUN_BY = {"rabbitmq_prometheus": "RabbitmqCluster"}  # the operator enables the plugin
AMQP = REPO / "libs" / "common" / "src" / "taskflow_common" / "messaging" / "amqp.py"


def exported_metric_names() -> set[str]:
    names = set()
    for root in SOURCES:
        for path in root.rglob("*.py"):
            for kind, name in DEFINITION.findall(path.read_text()):
                if kind == "Counter":
                    names.add(name if name.endswith("_total") else f"{name}_total")
                elif kind in ("Histogram", "Summary"):
                    names.update({f"{name}_count", f"{name}_sum"})
                    if kind == "Histogram":
                        names.add(f"{name}_bucket")
                else:
                    names.add(name)
    return names


def known_exporter_metrics(docs: list[dict[str, Any]]) -> set[str]:
    kinds = {doc["kind"] for doc in docs}
    names = set()
    for exporter, kind in EXPORTER_RUN_BY.items():
        if kind in kinds:
            lines = (KNOWN_METRICS / f"{exporter}.txt").read_text().splitlines()
            names.update(line for line in lines if line and not line.startswith("#"))
    return names


def referenced_metrics(expr: str) -> set[str]:
    # Label matchers' values ("5..") and label names inside braces are not metrics.
    without_matchers = re.sub(r"\{[^}]*\}", "{}", expr)
    names = set(TASKFLOW_NAME.findall(without_matchers))
    names.update(n for n in SELECTED.findall(without_matchers) if n not in PROMQL_WORDS)
    return names


def rule_expressions(docs: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for doc in docs:
        if doc["kind"] == "PrometheusRule":
            for group in doc["spec"]["groups"]:
                for rule in group["rules"]:
                    yield rule.get("alert") or rule["record"], rule["expr"]


def dashboard_expressions(docs: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for doc in docs:
        if doc["kind"] == "ConfigMap" and "grafana_dashboard" in doc["metadata"]["labels"]:
            for body in doc["data"].values():
                dashboard = json.loads(body)
                for variable in dashboard["templating"]["list"]:
                    if variable["type"] == "query":
                        yield f"{dashboard['uid']}:${variable['name']}", variable["query"]
                for panel in dashboard["panels"]:
                    for target in panel["targets"]:
                        yield f"{dashboard['uid']}:{panel['title']}", target["expr"]


def test_the_metric_definitions_are_found() -> None:
    """Guards the static check itself: if the regex stopped matching, everything would 'pass'."""
    names = exported_metric_names()
    assert {
        "taskflow_http_requests_total",
        "taskflow_http_request_duration_seconds_bucket",
    } <= names
    assert "taskflow_tasks_outbox_oldest_age_seconds" in names
    assert "taskflow_notify_websocket_connections" in names


def test_every_metric_in_alert_rules_and_dashboards_is_exported(
    production_docs: list[dict[str, Any]],
) -> None:
    exported = exported_metric_names() | known_exporter_metrics(production_docs)
    recorded = {name for name, _ in rule_expressions(production_docs) if ":" in name}
    expressions = [*rule_expressions(production_docs), *dashboard_expressions(production_docs)]
    assert len(expressions) > 20
    unknown = {
        f"{where}: {metric}"
        for where, expr in expressions
        for metric in referenced_metrics(expr.replace("label_values(", "("))
        if metric not in exported and metric not in recorded
    }
    assert unknown == set()


def test_the_alerts_the_operators_need_exist(production_docs: list[dict[str, Any]]) -> None:
    alerts = dict(rule_expressions(production_docs))
    wanted = {
        # The SLO alerts read the recorded ratios of 5xx and of slow requests.
        "TaskflowAvailabilityBudgetBurnFast": "taskflow:slo_errors:ratio_rate",
        "TaskflowAvailabilityBudgetBurnSlow": "taskflow:slo_errors:ratio_rate",
        "TaskflowLatencyBudgetBurnFast": "taskflow:slo_slow:ratio_rate",
        "TaskflowLatencyBudgetBurnSlow": "taskflow:slo_slow:ratio_rate",
        "TaskflowDeadLetterQueueNotEmpty": "rabbitmq_queue_messages",
        "TaskflowConsumerDown": "rabbitmq_queue_consumers",
        "TaskflowLlmFallbackRatioHigh": "taskflow_suggest_fallbacks_total",
        "TaskflowNotificationLatencyHigh": "taskflow_notify_event_to_delivery_seconds_bucket",
        "TaskflowOutboxBacklogOld": "taskflow_tasks_outbox_oldest_age_seconds",
        "TaskflowEventsDeadLettered": "taskflow_events_consumed_total",
        "TaskflowConsumerLagHigh": "taskflow_events_lag_seconds_bucket",
        "TaskflowWebSocketConnectionsDropped": "taskflow_notify_websocket_connections",
    }
    for alert, metric in wanted.items():
        assert metric in alerts[alert], alert


def test_the_five_dashboards_ship_as_config_maps(production_docs: list[dict[str, Any]]) -> None:
    """Overview (RED per service), the event pipeline, notifications, suggestions and the LLM,
    the tasks domain: one ConfigMap each, every panel with a query."""
    titles = {}
    for doc in production_docs:
        if doc["kind"] == "ConfigMap" and "grafana_dashboard" in doc["metadata"]["labels"]:
            for body in doc["data"].values():
                dashboard = json.loads(body)
                titles[dashboard["uid"]] = dashboard["title"]
                assert all(panel["targets"] for panel in dashboard["panels"]), dashboard["uid"]
    assert set(titles) == {
        "taskflow-red",
        "taskflow-events",
        "taskflow-notifications",
        "taskflow-suggestions",
        "taskflow-tasks",
    }


def test_the_checker_flags_an_unknown_metric(production_docs: list[dict[str, Any]]) -> None:
    exported = exported_metric_names() | known_exporter_metrics(production_docs)
    expr = 'sum(rate(taskflow_tasks_made_up_total{status="5.."}[5m])) / sum(up_not_ours[5m])'
    assert referenced_metrics(expr) - exported == {"taskflow_tasks_made_up_total", "up_not_ours"}
    expr = 'rabbitmq_queue_messages{queue="q"} + rabbitmq_queue_made_up{queue="q"}'
    assert referenced_metrics(expr) - exported == {"rabbitmq_queue_made_up"}


def test_exporter_metrics_count_only_where_the_exporter_runs(
    production_docs: list[dict[str, Any]],
) -> None:
    """A known list is an exporter's documentation, not a blanket excuse: it holds only that
    exporter's names, and a release without the exporter gets none of them."""
    rabbitmq = known_exporter_metrics(production_docs)
    assert "rabbitmq_queue_messages" in rabbitmq
    assert all(name.startswith("rabbitmq_") for name in rabbitmq)
    assert not rabbitmq & exported_metric_names()
    without_broker = [doc for doc in production_docs if doc["kind"] != "RabbitmqCluster"]
    assert known_exporter_metrics(without_broker) == set()


def _python_constant(path: Path, name: str) -> str:
    match = re.search(rf"^{name}\s*=\s*(.+)$", path.read_text(), re.MULTILINE)
    assert match, f"{name} not found in {path}"
    return match.group(1).strip().strip('"')


def _code_consumers() -> dict[str, set[str]]:
    """Consumer name -> routing-key patterns, as the services declare them."""
    consumers = {}
    for path in (REPO / "services").glob("*/src/**/*.py"):
        text = path.read_text()
        match = re.search(r'^CONSUMER = "(\w+)"\nPATTERNS = \(([^)]*)\)', text, re.MULTILINE)
        if match:
            consumers[match.group(1)] = set(re.findall(r'"([^"]+)"', match.group(2)))
    assert set(consumers) == {"suggest", "notify"}
    return consumers


def _code_queue_name(function: str, consumer: str) -> str:
    """What taskflow_common.messaging.amqp's queue_name/dead_letter_queue_name return."""
    match = re.search(
        rf'def {function}\(consumer: str\) -> str:\n\s+return f"([^"]+)"', AMQP.read_text()
    )
    assert match, f"{function} not found in {AMQP}"
    return match.group(1).replace("{consumer}", consumer)


def test_declared_topology_is_the_code_topology(default_docs: list[dict[str, Any]]) -> None:
    """The topology operator declares what taskflow_common.messaging.amqp declares, argument for
    argument: RabbitMQ refuses a re-declaration with other arguments (PRECONDITION_FAILED)."""
    amqp = AMQP
    exchange = _python_constant(amqp, "EXCHANGE")
    dead_letters = _python_constant(amqp, "DEAD_LETTER_EXCHANGE")
    delivery_limit = int(_python_constant(amqp, "DELIVERY_LIMIT"))
    consumers = _code_consumers()
    declared = re.findall(r"arguments=\{(.*?)\}", amqp.read_text(), re.DOTALL)
    consumer_queue_args = next(block for block in declared if "x-dead-letter-exchange" in block)
    code_argument_names = set(re.findall(r'"(x-[a-z-]+)"', consumer_queue_args)) - {"x-queue-type"}

    specs = [d["spec"] for d in default_docs if d["kind"] in ("Exchange", "Queue", "Binding")]
    exchanges = {s["name"]: s["type"] for s in specs if "type" in s and "arguments" not in s}
    assert exchanges.get(exchange) == "topic"
    assert exchanges.get(dead_letters) == "direct"
    queues = {s["name"]: s for s in specs if s.get("type") == "quorum"}
    bindings = {(s["source"], s["destination"], s["routingKey"]) for s in specs if "source" in s}
    for consumer, patterns in consumers.items():
        queue = queues[f"taskflow.{consumer}"]
        assert queue["durable"] is True
        assert set(queue["arguments"]) == code_argument_names
        assert queue["arguments"] == {
            "x-dead-letter-exchange": dead_letters,
            "x-dead-letter-routing-key": consumer,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            "x-delivery-limit": delivery_limit,
        }
        assert "arguments" not in queues[f"taskflow.{consumer}.dlq"]
        assert (dead_letters, f"taskflow.{consumer}.dlq", consumer) in bindings
        bound = {key for source, dest, key in bindings if dest == f"taskflow.{consumer}"}
        assert bound == patterns


def _matcher(expr: str, label: str) -> tuple[str, str]:
    """(operator, value) of one label matcher; the value unquoted as PromQL (Go) unquotes it."""
    match = re.search(rf'\b{label}\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")', expr)
    assert match, f"no {label} matcher in {expr}"
    return match.group(1), json.loads(match.group(2))


def test_dead_letter_queue_depth_alerts_watch_every_dlq(
    production_docs: list[dict[str, Any]],
) -> None:
    """RabbitMQ's own per-queue depth of every DLQ the code declares, and of nothing else."""
    alerts = dict(rule_expressions(production_docs))
    consumers = _code_consumers()
    for alert in ("TaskflowDeadLetterQueueNotEmpty", "TaskflowDeadLetterQueueNearlyFull"):
        expr = alerts[alert]
        assert referenced_metrics(expr) == {"rabbitmq_queue_messages"}, alert
        assert _matcher(expr, "vhost") == ("=", "/")
        operator, pattern = _matcher(expr, "queue")
        assert operator == "=~"
        for consumer in consumers:  # PromQL regexes are anchored at both ends
            assert re.fullmatch(pattern, _code_queue_name("dead_letter_queue_name", consumer))
            assert not re.fullmatch(pattern, _code_queue_name("queue_name", consumer))
        assert "max by (namespace, vhost, queue)" in expr, "one series per queue and cluster"
    assert alerts["TaskflowDeadLetterQueueNotEmpty"].endswith("> 0")
    assert alerts["TaskflowDeadLetterQueueNearlyFull"].endswith("> 80000")  # 0.8 x 100,000


def test_rabbitmq_exposes_and_we_scrape_per_queue_metrics(
    production_docs: list[dict[str, Any]],
) -> None:
    """The DLQ alerts select by `queue`: without per-object metrics RabbitMQ's /metrics has one
    aggregated series per node and no queue label, and the alerts would never fire."""
    (cluster,) = [d for d in production_docs if d["kind"] == "RabbitmqCluster"]
    config = cluster["spec"]["rabbitmq"]["additionalConfig"].splitlines()
    assert "prometheus.return_per_object_metrics = true" in [line.strip() for line in config]
    (monitor,) = [
        d
        for d in production_docs
        if d["kind"] == "PodMonitor" and d["metadata"]["name"] == cluster["metadata"]["name"]
    ]
    assert monitor["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": cluster["metadata"]["name"]
    }
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("prometheus", "/metrics")


# Gauges every tasks replica computes from the one database (DomainGauges): each replica reports
# the same count, so adding them up multiplies it by the number of replicas.
DATABASE_WIDE_GAUGES = (
    "taskflow_tasks_outbox_backlog_events",
    "taskflow_tasks_outbox_oldest_age_seconds",
    "taskflow_tasks_open_tasks",
    "taskflow_tasks_overdue_tasks",
)
SUMMED = re.compile(r"\b(sum|count|avg)\s*(?:(?:by|without)\s*\([^)]*\)\s*)?\(\s*(\w+)")


def summed_database_gauges(expr: str) -> set[str]:
    return {name for _, name in SUMMED.findall(expr) if name in DATABASE_WIDE_GAUGES}


def test_database_wide_gauges_are_never_added_up_across_replicas(
    production_docs: list[dict[str, Any]],
) -> None:
    """max() of the replicas' reports is the count; sum() is the count times the replicas."""
    expressions = [*rule_expressions(production_docs), *dashboard_expressions(production_docs)]
    assert any("taskflow_tasks_outbox_backlog_events" in expr for _, expr in expressions), (
        "the outbox backlog is on no dashboard"
    )
    summed = {f"{where}: {expr}" for where, expr in expressions if summed_database_gauges(expr)}
    assert summed == set()


def test_the_summing_check_sees_a_sum() -> None:
    assert summed_database_gauges("sum(taskflow_tasks_outbox_backlog_events)") == {
        "taskflow_tasks_outbox_backlog_events"
    }
    assert summed_database_gauges("sum by (namespace) (taskflow_tasks_open_tasks)")
    assert not summed_database_gauges("max by (namespace) (taskflow_tasks_open_tasks)")
    assert not summed_database_gauges("sum(rate(taskflow_http_requests_total[5m]))")
