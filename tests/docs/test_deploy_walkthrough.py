"""docs/deploy.md holds commands an operator pastes: check what can be checked without a cluster.

Every `helm install|upgrade` of charts/taskflow renders with the values files and --set flags it
names; every values file it names exists; every object a command names as `<kind>/<name>` is one
those renders produce, or a Secret the walkthrough itself creates; the dashboards and alerts it
tells the reader to watch exist.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "deploy.md"
HELM = Path(
    os.environ.get("TASKFLOW_HELM_BIN") or Path.home() / ".cache" / "taskflow" / "bin" / "helm"
)
KINDS = {
    "deploy": "Deployment",
    "svc": "Service",
    "hpa": "HorizontalPodAutoscaler",
    "job": "Job",
    "secret": "Secret",
    "cluster": "Cluster",
    "pooler": "Pooler",
    "scheduledbackup": "ScheduledBackup",
    "rabbitmqcluster": "RabbitmqCluster",
    "keycloak": "Keycloak",
}
# Objects the operators make from what the chart renders (named after the rendered resource).
MADE_BY_OPERATORS = {("Cluster", "taskflow-postgres-restored")}  # the restore creates it


def commands() -> list[str]:
    """The shell commands of the ```sh blocks, continuation lines joined."""
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.DOTALL)
    joined = "\n".join(blocks).replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip()]


def helm_installs() -> list[list[str]]:
    found = []
    for line in commands():
        if re.match(r"helm (install|upgrade) taskflow charts/taskflow\b", line):
            found.append(shlex.split(line.split("#", 1)[0]))
    return found


def render_flags(argv: list[str]) -> list[str]:
    flags = []
    for i, arg in enumerate(argv):
        if arg in ("-f", "--values", "--set"):
            flags += [arg, argv[i + 1]]
    return flags


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    if not HELM.is_file():
        pytest.fail(f"helm is missing at {HELM}: run `scripts/stack up helm` first")
    renders = {}
    for argv in helm_installs():
        flags = render_flags(argv)
        result = subprocess.run(
            [str(HELM), "template", "taskflow", str(REPO / "charts" / "taskflow"),
             "--namespace", "taskflow", *flags],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stderr}"
        renders[" ".join(flags)] = [d for d in yaml.safe_load_all(result.stdout) if d]
    return renders


def test_the_walkthrough_installs_each_profile_and_upgrades() -> None:
    installs = helm_installs()
    verbs = {argv[1] for argv in installs}
    assert verbs == {"install", "upgrade"}
    values = {argv[i + 1] for argv in installs for i, a in enumerate(argv) if a == "-f"}
    assert values == {"charts/taskflow/values-dev.yaml", "charts/taskflow/values-production.yaml"}
    named = set(re.findall(r"charts/taskflow/values[\w-]*\.yaml", DOC.read_text()))
    missing = {path for path in named if not (REPO / path).is_file()}
    assert missing == set()


def test_every_helm_command_renders(rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert len(rendered) >= 3
    for docs in rendered.values():
        assert any(d["kind"] == "Deployment" for d in docs)


def test_every_object_the_commands_name_is_rendered_or_created(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = {
        (d["kind"], d["metadata"]["name"]) for docs in rendered.values() for d in docs
    } | MADE_BY_OPERATORS
    text = "\n".join(commands())
    created = {("Secret", name) for name in re.findall(r"create secret generic ([\w-]+)", text)}
    # In the commands and the prose alike; not inside a path or URL (…/keycloak/bin).
    reference = re.compile(r"(?<![\w/.-])(" + "|".join(KINDS) + r")/([a-z0-9][-a-z0-9]*)")
    referenced = set(reference.findall(DOC.read_text()))
    assert len(referenced) > 15
    unknown = {
        f"{short}/{name}"
        for short, name in referenced
        if (KINDS[short], name) not in objects | created
    }
    assert unknown == set()


def test_the_dashboards_and_alerts_it_names_exist(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    text = DOC.read_text()
    production = next(docs for flags, docs in rendered.items() if "production" in flags)
    alerts = {
        rule.get("alert")
        for d in production
        if d["kind"] == "PrometheusRule"
        for group in d["spec"]["groups"]
        for rule in group["rules"]
    }
    assert set(re.findall(r"`(Taskflow\w+)`", text)) <= alerts
    titles = {
        json.loads(body)["title"]
        for d in production
        if d["kind"] == "ConfigMap" and "grafana_dashboard" in d["metadata"]["labels"]
        for body in d["data"].values()
    }
    named = set(re.findall(r"\*\*(TaskFlow / [^*]+)\*\*", text))
    assert named
    assert named <= titles
