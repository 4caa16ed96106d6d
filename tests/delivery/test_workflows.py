"""The GitHub Actions workflows: actionlint clean, every action pinned by commit, least privilege.

actionlint is built from the Go module proxy by `scripts/stack up actionlint` (make test runs
`scripts/stack up`, which installs it once into ~/.cache/taskflow/bin).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
ACTIONLINT = Path(
    os.environ.get("TASKFLOW_ACTIONLINT_BIN")
    or Path.home() / ".cache" / "taskflow" / "bin" / "actionlint"
)
# owner/repo[/path]@<40 hex> # v<version>
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40} # v\d+(?:\.\d+)*$")
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(.+?)\s*$")
PERMISSION_LEVELS = {"read", "write", "none"}


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name} is not a mapping"
    return data


def unpinned_uses(text: str) -> list[str]:
    """Every `uses:` that is not an action at a full commit SHA with its version as a comment
    (local actions `./...` need no pin)."""
    found = []
    for line in text.splitlines():
        match = USES.match(line)
        if match and not match.group(1).startswith("./") and not PINNED.match(match.group(1)):
            found.append(match.group(1))
    return found


def jobs_without_permissions(workflow: dict[str, Any]) -> list[str]:
    """Jobs that do not state their own token permissions as a mapping of scope -> level."""
    bad = []
    for name, job in workflow.get("jobs", {}).items():
        permissions = job.get("permissions")
        if not isinstance(permissions, dict) or not set(permissions.values()) <= PERMISSION_LEVELS:
            bad.append(name)
    return bad


def test_the_three_workflows_exist() -> None:
    assert {p.name for p in workflow_files()} >= {"ci.yml", "images.yml", "charts.yml"}


def test_actionlint_passes() -> None:
    if not ACTIONLINT.is_file():
        pytest.fail(f"actionlint is missing at {ACTIONLINT}: run `scripts/stack up actionlint`")
    result = subprocess.run(
        [str(ACTIONLINT), "-no-color"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_pin_check_refuses_tags_branches_and_bare_shas() -> None:
    sample = """
      - uses: actions/checkout@v7
      - uses: actions/checkout@main
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1
      - uses: actions/checkout@3d3c42e # v7.0.1
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
      - uses: ./.github/actions/local
    """
    assert unpinned_uses(sample) == [
        "actions/checkout@v7",
        "actions/checkout@main",
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
        "actions/checkout@3d3c42e # v7.0.1",
    ]


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha(path: Path) -> None:
    assert unpinned_uses(path.read_text()) == []


def test_the_permissions_check_refuses_missing_and_blanket_permissions() -> None:
    workflow = {
        "jobs": {
            "ok": {"permissions": {"contents": "read"}},
            "missing": {},
            "blanket": {"permissions": "write-all"},
            "typo": {"permissions": {"contents": "admin"}},
        }
    }
    assert jobs_without_permissions(workflow) == ["missing", "blanket", "typo"]


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_token_has_no_default_permissions_and_every_job_states_its_own(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("permissions") == {}, "top level: `permissions: {}`"
    assert jobs_without_permissions(workflow) == []


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_runs_of_one_ref_share_a_concurrency_group(path: Path) -> None:
    concurrency = load(path).get("concurrency")
    assert isinstance(concurrency, dict), "no concurrency group"
    assert "github.ref" in concurrency["group"]
    assert "github.workflow" in concurrency["group"]


def steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, s) for name, job in workflow["jobs"].items() for s in job.get("steps", [])]


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_uv_downloads_are_cached_by_lock_file(path: Path) -> None:
    for job, step in steps(load(path)):
        if step.get("uses", "").startswith("astral-sh/setup-uv@"):
            with_ = step.get("with", {})
            assert with_.get("enable-cache") is True, job
            assert with_.get("cache-dependency-glob") == "uv.lock", job


def test_ci_runs_lint_types_unit_integration_and_charts() -> None:
    ci = load(WORKFLOWS / "ci.yml")
    assert set(ci["jobs"]) >= {"lint", "types", "unit", "integration", "charts"}
    services = ci["jobs"]["integration"]["services"]
    assert {"postgres", "redis", "rabbitmq"} <= set(services)
    runs = " ".join(s.get("run", "") for _, s in steps(ci))
    assert "quay.io/keycloak/keycloak" in runs
    assert "--import-realm" in runs
    # the ports scripts/stack uses, so the tests' defaults hold in CI too
    assert services["postgres"]["ports"] == ["55432:5432"]
    assert services["redis"]["ports"] == ["56379:6379"]


def test_images_are_built_per_service_and_pushed_with_attestations_on_tags_only() -> None:
    images = load(WORKFLOWS / "images.yml")
    job = images["jobs"]["image"]
    services = {p.name for p in (REPO / "services").iterdir() if (p / "Dockerfile").is_file()}
    assert set(job["strategy"]["matrix"]["service"]) == services
    build = next(s for _, s in steps(images) if "build-push-action" in s.get("uses", ""))
    assert build["with"]["sbom"] is True
    assert build["with"]["provenance"] == "mode=max"
    assert job["env"]["PUSH"] == "${{ startsWith(github.ref, 'refs/tags/v') }}"
    assert build["with"]["push"] == "${{ env.PUSH == 'true' }}"


def test_charts_are_linted_by_chart_testing_and_installed_on_kind() -> None:
    charts = load(WORKFLOWS / "charts.yml")
    uses = {s.get("uses", "").split("@")[0] for _, s in steps(charts)}
    assert {"helm/chart-testing-action", "helm/kind-action", "azure/setup-helm"} <= uses
    runs = " ".join(s.get("run", "") for _, s in steps(charts))
    assert "ct lint" in runs
    assert "helm install taskflow charts/taskflow" in runs
    assert "helm test taskflow" in runs


def test_ci_fetches_every_crd_the_chart_tests_validate_against() -> None:
    """The charts job rebuilds ../shared/crds from upstream: the same folders and files."""
    crd_dir = REPO.parent / "shared" / "crds"
    if not crd_dir.is_dir():
        pytest.fail(
            f"CRDs not found at {crd_dir}: the chart tests need shared/crds beside the repo"
        )
    vendored = {f"{p.parent.name}/{p.name}" for p in crd_dir.glob("*/*.yaml")}
    charts = load(WORKFLOWS / "ci.yml")["jobs"]["charts"]
    script = next(s["run"] for s in charts["steps"] if s.get("name") == "Operators' CRDs")
    listed = set()
    for line in script.split("<<'LIST'", 1)[1].splitlines():
        fields = line.split()
        if len(fields) == 4:
            folder, _repo, commit, path = fields
            assert re.fullmatch(r"[0-9a-f]{40}", commit), line
            name = Path(path).name.removesuffix(".yml").removesuffix(".yaml") + ".yaml"
            listed.add(f"{folder}/{name}")
    assert listed == vendored
