"""The distributed suite keeps its internals off the public listeners (issue 11, defect 8).

Through the gateway nobody gets /metrics or the readiness detail (which dependency is down,
and why); every process's metrics port, the one Prometheus scrapes, still serves both.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import httpx

from taskflow_common.testing.suite import require_suite

ROOT = Path(__file__).resolve().parents[2]


def suite_script() -> ModuleType:
    """scripts/suite itself: its process table is where the local ports are decided."""
    loader = importlib.machinery.SourceFileLoader("taskflow_suite", str(ROOT / "scripts" / "suite"))
    spec = importlib.util.spec_from_loader("taskflow_suite", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    loader.exec_module(module)
    return module


def test_the_gateway_serves_no_metrics_and_no_readiness_detail() -> None:
    gateway = require_suite()
    with httpx.Client(base_url=gateway, timeout=10) as client:
        metrics = client.get("/metrics")
        ready = client.get("/readyz")
        per_service = {
            s: client.get(f"/readyz/{s}") for s in ("tasks", "suggest", "notify", "admin")
        }
    assert metrics.status_code == 404
    assert "taskflow_http_requests_total" not in metrics.text
    assert ready.json() in ({"status": "ready"}, {"status": "not ready"}), ready.text
    for service, answer in per_service.items():
        assert answer.json() in ({"status": "ready"}, {"status": "not ready"}), service


def test_no_http_port_of_the_suite_serves_metrics() -> None:
    require_suite()
    for proc in suite_script().PROCESSES:
        if proc.port is None:
            continue
        public = httpx.get(f"http://127.0.0.1:{proc.port}/metrics", timeout=10)
        assert public.status_code == 404, proc.name
        ready = httpx.get(f"http://127.0.0.1:{proc.port}/readyz", timeout=10)
        assert set(ready.json()) == {"status"}, proc.name


def test_every_process_serves_metrics_on_its_metrics_port() -> None:
    require_suite()
    processes = suite_script().PROCESSES
    assert all(proc.metrics_port for proc in processes), "a process Prometheus cannot scrape"
    for proc in processes:
        scrape = httpx.get(f"http://127.0.0.1:{proc.metrics_port}/metrics", timeout=10)
        assert scrape.status_code == 200, proc.name
        assert "# TYPE " in scrape.text, proc.name
    gateway = next(proc for proc in processes if proc.name == "gateway")
    scrape = httpx.get(f"http://127.0.0.1:{gateway.metrics_port}/metrics", timeout=10).text
    assert "taskflow_http_requests_total" in scrape


def test_the_metrics_port_tells_operators_what_each_check_says() -> None:
    require_suite()
    for proc in suite_script().PROCESSES:
        if proc.port is None:
            continue  # background roles serve prometheus_client's exporter only
        detailed = httpx.get(f"http://127.0.0.1:{proc.metrics_port}/readyz", timeout=10).json()
        assert detailed["checks"], proc.name
        all_ok = set(detailed["checks"].values()) == {"ok"}
        assert detailed["status"] == ("ready" if all_ok else "not ready"), (proc.name, detailed)
    gateway = next(proc for proc in suite_script().PROCESSES if proc.name == "gateway")
    checks = httpx.get(f"http://127.0.0.1:{gateway.metrics_port}/readyz", timeout=10).json()
    assert {"identity", "upstream:tasks", "upstream:notify"} <= set(checks["checks"])
