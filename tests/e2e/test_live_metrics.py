"""Every metric and label the dashboards and alert rules use exists in what the running suite
exports (issue 15): tests/charts checks the names against the source; this scrapes the live
/metrics of every process of the distributed suite, and RabbitMQ's own exporter, after driving
the suite through the gateway, so that the series a panel or an alert selects are really there.

A family counts when its process declares it (`# HELP`); its labels are checked on the samples
the traffic produced. The rules and dashboards are the production chart's, rendered by helm.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import yaml

from taskflow_common.testing import require_component
from taskflow_common.testing.suite import require_suite

ROOT = Path(__file__).resolve().parents[2]
HELM = Path.home() / ".cache" / "taskflow" / "bin" / "helm"
# The chart turns on return_per_object_metrics; the local broker serves the same series here.
RABBITMQ_METRICS = "http://127.0.0.1:15692/metrics/per-object"
# Labels Prometheus itself attaches to every scraped series (target labels), not the exporter.
TARGET_LABELS = {"namespace", "pod", "job", "instance"}
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="')
SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def _load(path: Path, name: str) -> ModuleType:
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    loader.exec_module(module)
    return module


# The static checks' PromQL readers (which names an expression uses), shared with tests/charts.
observability = _load(ROOT / "tests" / "charts" / "test_observability.py", "taskflow_obs_checks")


def production_docs(tmp: Path) -> list[dict[str, Any]]:
    if not HELM.is_file():
        pytest.fail(f"helm is missing at {HELM}: run `scripts/stack up helm` first")
    charts = tmp / "charts"
    shutil.copytree(ROOT / "charts", charts, ignore=shutil.ignore_patterns("*.tgz"))
    for chart in ("auth-gateway", "tasks", "suggest", "notify", "admin", "taskflow"):
        subprocess.run(
            [str(HELM), "dependency", "build", str(charts / chart)],
            check=True,
            capture_output=True,
            timeout=120,
        )
    values = charts / "taskflow" / "values-production.yaml"
    out = subprocess.run(
        [str(HELM), "template", "taskflow", str(charts / "taskflow"), "-f", str(values)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def drive_the_suite(gateway: str) -> None:
    """A user's day in small: register, create and change tasks, ask for a suggestion, read
    notifications; then wait until the consumers have acted on the events."""
    name = f"metrics-{secrets.token_hex(4)}"
    password = f"Pw-{secrets.token_urlsafe(12)}"
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    with httpx.Client(base_url=gateway, timeout=30) as client:
        registered = client.post(
            "/auth/register",
            json={"username": name, "email": f"{name}@example.test", "password": password},
        )
        assert registered.status_code == 201, registered.text
        login = client.post("/auth/login", json={"username": name, "password": password})
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        created = client.post(
            "/api/v1/tasks",
            json={"title": "Quarterly report due", "due_at": tomorrow.isoformat()},
        )
        assert created.status_code == 201, created.text
        task = created.json()
        assert client.patch(f"/api/v1/tasks/{task['id']}", json={"priority": "high"}).is_success
        suggested = client.post("/api/v1/suggestions/priority", json={"task_id": task["id"]})
        assert suggested.status_code == 200, suggested.text
        client.get("/api/v1/tasks")
        client.get("/api/v1/tasks/not-a-task")  # a 4xx as well as 2xx
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if client.get("/api/v1/notifications").json().get("data"):
                break
            time.sleep(0.5)


def scrape(urls: list[str]) -> tuple[set[str], dict[str, set[str]]]:
    """(series names declared, metric name -> label names seen on its samples)."""
    declared: set[str] = set()
    labels: dict[str, set[str]] = defaultdict(set)
    for url in urls:
        text = httpx.get(url, timeout=10).text
        for line in text.splitlines():
            if line.startswith("# HELP "):
                family = line.split()[2]
                suffixes = ("", "_total", "_bucket", "_count", "_sum")
                declared.update(f"{family}{suffix}" for suffix in suffixes)
            elif match := SAMPLE.match(line):
                labels[match.group(1)].update(LABEL.findall(match.group(2) or ""))
                declared.add(match.group(1))
    return declared, labels


def used_labels(expr: str) -> tuple[dict[str, set[str]], set[str]]:
    """(metric -> labels its selector matches on, labels grouped by anywhere in expr)."""
    selected: dict[str, set[str]] = defaultdict(set)
    for metric, matchers in SELECTOR.findall(expr):
        selected[metric].update(MATCHER_LABEL.findall(matchers))
    grouped = {g.strip() for group in BY.findall(expr) for g in group.split(",") if g.strip()}
    return selected, grouped


def test_every_metric_and_label_the_dashboards_and_alerts_use_is_exported(
    tmp_path: Path,
) -> None:
    require_component("rabbitmq")
    gateway = require_suite()
    suite = _load(ROOT / "scripts" / "suite", "taskflow_suite_live")
    drive_the_suite(gateway)
    urls = [f"http://127.0.0.1:{p.metrics_port}/metrics" for p in suite.PROCESSES]
    declared, seen = scrape([*urls, RABBITMQ_METRICS])

    docs = production_docs(tmp_path)
    recorded = {name for name, _ in observability.rule_expressions(docs) if ":" in name}
    expressions = [
        *observability.rule_expressions(docs),
        *observability.dashboard_expressions(docs),
    ]
    ignored = TARGET_LABELS | {"le"}
    missing: set[str] = set()
    unlabelled: set[str] = set()
    for where, raw in expressions:
        expr = raw.replace("label_values(", "(")
        metrics = observability.referenced_metrics(expr) - recorded
        missing |= {f"{where}: {m}" for m in metrics if m not in declared}
        selected, grouped = used_labels(expr)
        for metric, wanted in selected.items():
            if metric in seen:
                lacking = wanted - seen[metric] - ignored
                unlabelled |= {f"{where}: {metric}{{{label}}}" for label in lacking}
        if metrics and all(m in seen for m in metrics):
            carried = set().union(*(seen[m] for m in metrics))
            unlabelled |= {f"{where}: by {label}" for label in grouped - carried - ignored}
    assert len(expressions) > 30
    assert missing == set(), "series no running process exports"
    assert unlabelled == set(), "labels the exported series do not carry"
