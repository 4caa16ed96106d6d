"""The chart's alert rules, checked and unit-tested with the real promtool.

`promtool check rules` parses every expression and annotation template of the rendered
PrometheusRule; `promtool test rules` runs tests/charts/alert_tests/*.yaml against it: for each
alert, series that make it fire (with the labels it fires with) and series that must leave it
quiet. The unit tests run on the rules with their annotations removed, so a reworded summary
does not break them (their templates are still parsed by `check rules`).

promtool comes from Debian's prometheus package (`scripts/stack up promtool`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from taskflow_common.metrics import LAG_BUCKETS, LATENCY_BUCKETS
from taskflow_notify.metrics import DELIVERY_LATENCY_BUCKETS

PROMTOOL = Path(
    os.environ.get("TASKFLOW_PROMTOOL_BIN")
    or Path.home() / ".cache" / "taskflow" / "bin" / "promtool"
)
UNIT_TESTS = Path(__file__).parent / "alert_tests"
VALUES = Path(__file__).resolve().parents[2] / "charts" / "taskflow" / "values.yaml"


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.is_file():
        pytest.fail(f"promtool is missing at {PROMTOOL}: run `scripts/stack up promtool` first")
    return subprocess.run(
        [str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def rule_groups(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rules = [doc for doc in docs if doc["kind"] == "PrometheusRule"]
    assert len(rules) == 1, [doc["metadata"]["name"] for doc in rules]
    groups: list[dict[str, Any]] = rules[0]["spec"]["groups"]
    return groups


def alert_names(groups: list[dict[str, Any]]) -> set[str]:
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


@pytest.fixture(scope="module")
def rules_dir(
    production_docs: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The production rules as rules.yaml (and without annotations as the unit tests' copy),
    beside copies of the unit-test files that name them."""
    work = tmp_path_factory.mktemp("rules")
    groups = rule_groups(production_docs)
    (work / "checked.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    bare = [
        {
            **group,
            "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in group["rules"]],
        }
        for group in groups
    ]
    (work / "rules.yaml").write_text(yaml.safe_dump({"groups": bare}, sort_keys=False))
    for test_file in UNIT_TESTS.glob("*.yaml"):
        shutil.copy(test_file, work / test_file.name)
    return work


def test_promtool_accepts_every_rule(rules_dir: Path) -> None:
    done = promtool("check", "rules", "checked.yaml", cwd=rules_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_fires_and_stays_quiet_as_its_unit_tests_say(rules_dir: Path) -> None:
    files = sorted(p.name for p in UNIT_TESTS.glob("*.yaml"))
    assert files, f"no promtool unit tests in {UNIT_TESTS}"
    done = promtool("test", "rules", *files, cwd=rules_dir)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_firing_and_a_quiet_case(production_docs: list[dict[str, Any]]) -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in UNIT_TESTS.glob("*.yaml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = alert_names(rule_groups(production_docs))
    assert alerts - firing == set(), "alerts no unit test makes fire"
    assert alerts - quiet == set(), "alerts no unit test expects to stay quiet"
    assert (firing | quiet) - alerts == set(), "unit tests of alerts the chart does not have"


def test_histogram_thresholds_lie_inside_the_buckets() -> None:
    """histogram_quantile cannot answer above a histogram's largest finite bound, so a p99
    threshold at or past it never fires (the lag alert's 30 s once sat above 10 s buckets)."""
    rules = yaml.safe_load(VALUES.read_text())["monitoring"]["rules"]
    assert rules["consumerLagSeconds"] < max(LAG_BUCKETS)
    for channel, seconds in rules["notificationP99Seconds"].items():
        assert seconds < max(DELIVERY_LATENCY_BUCKETS), channel
    assert rules["slo"]["latency"]["thresholdSeconds"] in LATENCY_BUCKETS
