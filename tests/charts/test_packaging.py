"""Static checks of what cannot be exercised here: the Dockerfiles (no container engine on this
machine, so they are never built in tests) and the charts' documentation conventions."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
SERVICES = {
    "auth-gateway": ("taskflow_auth_gateway", 8080),
    "tasks": ("taskflow_tasks", 8001),
    "suggest": ("taskflow_suggest", 8002),
    "notify": ("taskflow_notify", 8003),
    "admin": ("taskflow_admin", 8004),
}
APPLICATION_CHARTS = (*SERVICES, "taskflow")


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_is_multistage_uv_based_pinned_and_non_root(service: str) -> None:
    package, port = SERVICES[service]
    instructions = _instructions(REPO / "services" / service / "Dockerfile")
    args = dict(
        a.split("=", 1) for kind, a in instructions if kind == "ARG" and "=" in a
    )  # ARGs before FROM name the base images
    froms = [a.split()[0] for kind, a in instructions if kind == "FROM"]
    assert len(froms) >= 2, "multi-stage: build and runtime"
    for image in froms:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert "@sha256:" in image or re.search(r":[\w.-]+$", image), f"{image} is not pinned"
        assert not image.endswith(":latest"), image
    runs = " ".join(a for kind, a in instructions if kind == "RUN")
    assert f"uv sync --frozen --no-dev --no-editable --package taskflow-{service}" in runs
    users = [a for kind, a in instructions if kind == "USER"]
    assert users, "no USER: the image would run as root"
    assert users[-1].split(":")[0] not in ("root", "0"), "runs as non-root"
    assert ("ENTRYPOINT", f'["python", "-m", "{package}"]') in instructions
    assert ("CMD", '["serve"]') in instructions
    assert ("EXPOSE", str(port)) in instructions
    assert not any(kind == "ADD" for kind, _ in instructions), "COPY, never ADD"


def test_dockerignore_keeps_local_state_out_of_images() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".stack", ".data"} <= ignored


def _leaf_paths(node: Any, prefix: str = "") -> set[str]:
    if isinstance(node, dict) and node:
        return {p for key, value in node.items() for p in _leaf_paths(value, f"{prefix}{key}.")}
    return {prefix.rstrip(".")}


@pytest.mark.parametrize("chart", APPLICATION_CHARTS)
def test_every_value_is_documented_with_a_param(chart: str) -> None:
    """Bitnami style: each value (or a parent that owns a free-form map) has `## @param`."""
    text = (CHARTS / chart / "values.yaml").read_text()
    documented = set(re.findall(r"^## @param (\S+)", text, re.MULTILINE))
    values = yaml.safe_load(text)
    undocumented = {
        leaf
        for leaf in _leaf_paths(values)
        if not any(leaf == d or leaf.startswith(f"{d}.") for d in documented)
    }
    assert undocumented == set()
    leaves = _leaf_paths(values)
    stale = {d for d in documented if not any(p == d or p.startswith(f"{d}.") for p in leaves)}
    assert stale == set(), "documented values that do not exist"


@pytest.mark.parametrize("chart", APPLICATION_CHARTS)
def test_chart_ships_schema_notes_and_a_helm_test(chart: str) -> None:
    root = CHARTS / chart
    schema = json.loads((root / "values.schema.json").read_text())
    assert schema["type"] == "object"
    assert schema["properties"]
    assert (root / "templates" / "NOTES.txt").is_file()
    if chart != "taskflow":  # the umbrella runs its subcharts' tests
        assert (
            "helm.sh/hook: test"
            in (CHARTS / "taskflow-lib" / "templates" / "_extras.tpl").read_text()
        )
        assert (
            "taskflow-lib.testPod"
            in (root / "templates" / "tests" / "test-readyz.yaml").read_text()
        )


def _packaged_files(archive: Path) -> dict[str, bytes]:
    """chart-relative path -> content; nested dependencies keep their charts/<dep>/ prefix."""
    with tarfile.open(archive) as tar:
        return {
            member.name.split("/", 1)[1]: tar.extractfile(member).read()  # type: ignore[union-attr]
            for member in tar.getmembers()
            if member.isfile()
        }


def _source_files(chart: Path) -> dict[str, bytes]:
    """What `helm package` takes from a chart directory (our .helmignore files only exclude
    editor leftovers and .git), with packaged dependencies expanded as helm does."""
    files = {}
    for path in chart.rglob("*"):
        relative = path.relative_to(chart).as_posix()
        if not path.is_file() or relative.endswith((".orig", "~")) or relative.startswith(".git/"):
            continue
        if relative.startswith("charts/") and relative.endswith(".tgz"):
            for inner, content in _packaged_files(path).items():
                files[f"charts/{path.name.rsplit('-', 1)[0]}/{inner}"] = content
        else:
            files[relative] = path.read_bytes()
    return files


def _same(name: str, packaged: bytes, source: bytes) -> bool:
    if name.endswith("Chart.yaml"):  # helm re-serialises Chart.yaml when packaging
        return bool(yaml.safe_load(packaged) == yaml.safe_load(source))
    return packaged == source


@pytest.mark.parametrize(
    "archive", sorted(CHARTS.glob("*/charts/*.tgz")), ids=lambda p: p.relative_to(CHARTS).as_posix()
)
def test_vendored_dependencies_equal_their_source(archive: Path) -> None:
    """The packaged dependencies are committed so `helm install taskflow charts/taskflow` works
    from a checkout; they must never drift from the charts they were packaged from."""
    source_chart = CHARTS / archive.name.rsplit("-", 1)[0]
    packaged = _packaged_files(archive)
    source = _source_files(source_chart)
    hint = "run charts/build-dependencies.sh"
    assert set(packaged) == set(source), hint
    stale = sorted(n for n in packaged if not _same(n, packaged[n], source[n]))
    assert stale == [], hint


def test_every_chart_dependency_is_vendored() -> None:
    for chart in (*SERVICES, "taskflow"):
        wanted = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())["dependencies"]
        for dependency in wanted:
            archive = (
                CHARTS / chart / "charts" / f"{dependency['name']}-{dependency['version']}.tgz"
            )
            assert archive.is_file(), f"{archive} missing: run charts/build-dependencies.sh"
