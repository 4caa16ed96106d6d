#!/usr/bin/env python3
"""Replay a service Dockerfile's build stage without a container engine (there is none here).

For each service: the Dockerfile's `COPY` instructions of the build stage are applied to a
temporary directory (honouring the .dockerignore patterns we use), its `uv sync` commands run
there with the environment the Dockerfile sets, and the resulting virtualenv must start the
service's CLI (`python -m taskflow_<svc> --help`) from the installed wheels, not the source tree.
It does not check the base images or the runtime stage. Needs uv and its cache (or the index).

    uv run python tests/charts/simulate_image_build.py [service ...]
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("auth-gateway", "tasks", "suggest", "notify", "admin")
IGNORED = shutil.ignore_patterns("tests", "__pycache__", "*.pyc", ".venv", ".mypy_cache")


def build_stage(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    steps, in_build = [], False
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("FROM "):
            in_build = line.endswith(" AS build")
        elif in_build and line.split(" ", 1)[0] in ("COPY", "RUN", "ENV"):
            kind, rest = line.split(" ", 1)
            steps.append((kind, rest))
    return steps


def simulate(service: str) -> None:
    package = "taskflow_" + service.replace("-", "_")
    with tempfile.TemporaryDirectory() as tmp:
        src, venv = Path(tmp) / "src", Path(tmp) / "venv"
        src.mkdir()
        env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
        for kind, rest in build_stage(REPO / "services" / service / "Dockerfile"):
            if kind == "ENV":
                continue  # the variables below are the ones that matter outside a container
            if kind == "COPY":
                if rest.startswith("--from="):
                    continue  # the uv binary: use the local one
                *sources, target = rest.split()
                for source in sources:
                    origin = REPO / source
                    if origin.is_dir():
                        shutil.copytree(origin, src / target, ignore=IGNORED, dirs_exist_ok=True)
                        continue
                    into_dir = target.endswith("/")
                    destination = src / target / origin.name if into_dir else src / target
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, destination)
            else:
                command = rest.split(" uv ", 1)[1] if " uv " in f" {rest}" else rest
                argv = ["uv", *shlex.split(command.removeprefix("uv "))]
                env.update(
                    UV_LINK_MODE="copy", UV_PYTHON_DOWNLOADS="never", UV_COMPILE_BYTECODE="1"
                )
                subprocess.run(argv, cwd=src, env=env, check=True)
        shutil.rmtree(src)  # the image's runtime stage has no source tree either
        python = str(venv / "bin" / "python")
        subprocess.run([python, "-m", package, "--help"], check=True, capture_output=True)
        print(f"{service}: build stage OK ({package} starts from the installed wheels)")


if __name__ == "__main__":
    for name in sys.argv[1:] or SERVICES:
        simulate(name)
