"""Each application chart's README lists its values as values.yaml's `## @param` comments
describe them: the "Parameters" section is what Bitnami's readme-generator-for-helm writes
(`scripts/chart-readmes`), so a value added, removed or redescribed without regenerating fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
APPLICATION_CHARTS = ("taskflow", "auth-gateway", "tasks", "suggest", "notify", "admin")
GENERATOR = Path(
    os.environ.get("TASKFLOW_README_GENERATOR_BIN")
    or Path.home()
    / ".cache"
    / "taskflow"
    / "readme-generator"
    / "node_modules"
    / ".bin"
    / "readme-generator"
)


def generated(values: Path, readme: Path, work: Path) -> str:
    """The README the generator writes from `values` over a copy of `readme`."""
    if not GENERATOR.is_file():
        pytest.fail(
            f"readme-generator is missing at {GENERATOR}: run `scripts/stack up readme-generator`"
        )
    copy = work / "README.md"
    shutil.copyfile(readme, copy)
    result = subprocess.run(
        [str(GENERATOR), "--values", str(values), "--readme", str(copy)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"{values}: the @param comments are malformed:\n{result.stdout}"
    return copy.read_text()


@pytest.mark.parametrize("chart", APPLICATION_CHARTS)
def test_readme_parameters_are_generated_from_values(chart: str, tmp_path: Path) -> None:
    readme = CHARTS / chart / "README.md"
    assert readme.is_file(), f"{readme} missing: add one with a '## Parameters' section"
    expected = generated(CHARTS / chart / "values.yaml", readme, tmp_path)
    assert readme.read_text() == expected, f"{readme} is stale: run scripts/chart-readmes"
    documented = re.findall(r"^## @param (\S+)", (CHARTS / chart / "values.yaml").read_text(), re.M)
    rows = set(re.findall(r"^\| `([^`]+)`", readme.read_text(), re.M))
    assert set(documented) <= rows


def test_a_changed_description_makes_the_readme_stale(tmp_path: Path) -> None:
    """The check has teeth: redescribing one value changes what the generator writes."""
    values = tmp_path / "values.yaml"
    text = (CHARTS / "tasks" / "values.yaml").read_text()
    values.write_text(text.replace("Database connections per process", "Connections per pod"))
    readme = CHARTS / "tasks" / "README.md"
    rewritten = generated(values, readme, tmp_path)
    assert rewritten != readme.read_text()
    assert "Connections per pod" in rewritten
