"""Fixtures for the chart tests: the local helm binary, charts built offline, rendering, CRDs.

No cluster and no container engine exist here: charts are linted and rendered with the real
helm CLI (installed by `scripts/stack up helm`), and what they render is validated offline
against the Kubernetes OpenAPI schemas (kubernetes-validate) and the operators' CRDs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
# Installed by `scripts/stack up helm`, which also prints it as TASKFLOW_HELM_BIN.
HELM = Path(
    os.environ.get("TASKFLOW_HELM_BIN") or Path.home() / ".cache" / "taskflow" / "bin" / "helm"
)
# CI runs with a copy of shared/ beside the clone; locally it is /work/shared.
CRD_DIR = REPO.parent / "shared" / "crds"
SERVICE_CHARTS = ("auth-gateway", "tasks", "suggest", "notify", "admin")
ALL_CHARTS = ("taskflow-lib", *SERVICE_CHARTS, "taskflow")
RELEASE = "taskflow"
# The CRDs are large (CloudNativePG's Cluster alone is ~8,000 lines): parse them with libyaml.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
NAMESPACE = "taskflow"

Render = Callable[..., list[dict[str, Any]]]
Helm = Callable[..., subprocess.CompletedProcess[str]]


def run_helm(
    *args: str, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if not HELM.is_file():
        pytest.fail(f"helm is missing at {HELM}: run `scripts/stack up helm` first")
    result = subprocess.run(
        [str(HELM), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        pytest.fail(f"helm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def helm() -> Helm:
    """Runs the local helm CLI; `check=False` returns a failed run instead of failing."""
    return run_helm


@pytest.fixture(scope="session")
def built_charts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of charts/ with every file:// dependency packaged (works offline; the
    working tree stays untouched, so concurrent runs never race on the .tgz files)."""
    root = tmp_path_factory.mktemp("charts")
    shutil.copytree(CHARTS, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.tgz"))
    for chart in (*SERVICE_CHARTS, "taskflow"):
        run_helm("dependency", "build", str(root / chart))
    return root


@pytest.fixture(scope="session")
def render(built_charts: Path) -> Render:
    def _render(chart: str, *args: str) -> list[dict[str, Any]]:
        out = run_helm(
            "template", RELEASE, str(built_charts / chart), "--namespace", NAMESPACE, *args
        ).stdout
        return [doc for doc in yaml.load_all(out, Loader=LOADER) if doc]

    return _render


@pytest.fixture(scope="session")
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema for every CRD version served in shared/crds."""
    if not CRD_DIR.is_dir():
        pytest.fail(
            f"CRDs not found at {CRD_DIR}: the chart tests need shared/crds beside the repo"
        )
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(CRD_DIR.glob("*/*.yaml")):
        crd = yaml.load(path.read_text(), Loader=LOADER)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    if not schemas:
        pytest.fail(f"no CRD found under {CRD_DIR}")
    return schemas


@pytest.fixture(scope="session")
def default_docs(render: Render) -> list[dict[str, Any]]:
    return render("taskflow")


@pytest.fixture(scope="session")
def production_docs(render: Render) -> list[dict[str, Any]]:
    return render("taskflow", "-f", str(CHARTS / "taskflow" / "values-production.yaml"))


@pytest.fixture(scope="session")
def dev_docs(render: Render) -> list[dict[str, Any]]:
    return render("taskflow", "-f", str(CHARTS / "taskflow" / "values-dev.yaml"))


SchemaViolations = Callable[[str], set[tuple[str, str, str]]]


@pytest.fixture(scope="session")
def schema_violations() -> SchemaViolations:
    """Parses helm's schema report: 'chart:' lines, each followed by "- at '/pointer': why"
    lines, into (chart, pointer, the leading word of why, or "") triples."""

    def parse(stderr: str) -> set[tuple[str, str, str]]:
        found, chart = set(), ""
        for line in stderr.splitlines():
            if re.fullmatch(r"[\w-]+:", line):
                chart = line[:-1]
            elif match := re.match(r"- at '([^']+)'(?::\s*(\w*))?", line):
                found.add((chart, match.group(1), match.group(2) or ""))
        return found

    return parse
