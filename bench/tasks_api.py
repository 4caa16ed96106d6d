"""Tasks API vs a raw Starlette + asyncpg control, side by side in one run.

Both run as separate processes on loopback against the same rows of a throwaway Postgres
database, both verify the same RS256 JWT with taskflow_common's JwtVerifier (keys from a
JWKS served by this script), and wrk drives each at 32 connections. Measured:
GET /api/v1/tasks/{id} and GET /api/v1/tasks?limit=50. Prints req/s, p50, p99 and a/b.
Targets (2 cores): single task a/b >= 0.6, list of 50 a/b >= 0.4.

  uv run python bench/tasks_api.py [--duration 10] [--connections 32]

Needs the local stack's Postgres (`scripts/stack up postgres`) and wrk (installed with
apt-get if missing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from scratch_db import create_database as create_empty_database
from scratch_db import drop_database
from signing import ISSUER, jwks_and_token

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    cpu_us_per_request: float = 0.0  # the server process's own CPU: robust to a busy machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (apt-get) ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is not available and could not be installed")
    return found


def serve_jwks(document: dict[str, object]) -> tuple[str, ThreadingHTTPServer]:
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/certs", server


async def create_database(user_id: str, tasks: int) -> tuple[str, str, str]:
    """A throwaway database with the tasks schema and `tasks` rows for user_id."""
    name, url = await create_empty_database()
    sys.path.insert(0, str(ROOT / "services" / "tasks" / "src"))
    from taskflow_tasks.application import commands as c
    from taskflow_tasks.application.deps import Deps
    from taskflow_tasks.application.handlers import CommandBus
    from taskflow_tasks.infrastructure.db import migrate
    from taskflow_tasks.infrastructure.db.pg_pool import PgPool
    from taskflow_tasks.infrastructure.db.uow import PgUnitOfWork

    await migrate.upgrade_database(url)
    pool = PgPool(url)
    try:
        bus = CommandBus(Deps(uow=lambda: PgUnitOfWork(pool)))
        first_id = ""
        due = datetime.now(UTC) + timedelta(days=3)
        for i in range(tasks):
            created = await bus.handle(
                c.CreateTask(
                    user_id,
                    {
                        "title": f"Benchmark task {i}",
                        "description": "Some *Markdown* describing the work to do. " * 3,
                        "priority": ["low", "medium", "high"][i % 3],
                        "labels": ["bench", f"group-{i % 5}"],
                        "due_at": due + timedelta(hours=i),
                        "reminders": ["PT30M"],
                    },
                )
            )
            first_id = first_id or str(created.task.id)
    finally:
        await pool.close()
    return name, url, first_id


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def process(argv: list[str], env: dict[str, str], port: int, probe: str) -> Iterator[int]:
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv} exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{argv} did not start on port {port}")
        yield proc.pid
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def warm_up(wrk: str, url: str, token: str, connections: int) -> None:
    """JWKS fetch, pools, caches: nothing of this is measured."""
    subprocess.run(
        [wrk, "-t2", f"-c{connections}", "-d2s", "-H", f"Authorization: Bearer {token}", url],
        capture_output=True,
        check=True,
    )


def run_wrk(wrk: str, url: str, token: str, duration: float, connections: int, pid: int) -> Result:
    cpu_before = cpu_seconds(pid)
    out = subprocess.run(
        [
            wrk,
            "-t2",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    cpu = (cpu_seconds(pid) - cpu_before) / max(requests, 1) * 1e6
    return Result(rps, p50, p99, int(non_2xx.group(1)) if non_2xx else 0, cpu)


def combine(runs: list[Result]) -> Result:
    """Mean throughput over the slices; median of their latency percentiles."""
    return Result(
        rps=statistics.fmean(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        non_2xx=sum(r.non_2xx for r in runs),
        cpu_us_per_request=statistics.median(r.cpu_us_per_request for r in runs),
    )


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5, help="a/b alternations per endpoint")
    parser.add_argument("--tasks", type=int, default=200, help="rows seeded for the user")
    parser.add_argument("--only", choices=["GET", "list"], help="measure one endpoint only")
    args = parser.parse_args()
    wrk = ensure_wrk()

    user_id = f"bench-{secrets.token_hex(4)}"
    jwks, token = jwks_and_token(user_id)
    jwks_url, jwks_server = serve_jwks(jwks)
    name, url, task_id = asyncio.run(create_database(user_id, args.tasks))
    tasks_port, control_port = free_port(), free_port()
    env = {
        **os.environ,
        "TASKFLOW_DATABASE_URL": url,
        "TASKFLOW_PORT": str(tasks_port),
        "TASKFLOW_OIDC_ISSUER": ISSUER,
        "TASKFLOW_OIDC_JWKS_URL": jwks_url,
        "TASKFLOW_LOG_LEVEL": "WARNING",
        "TASKFLOW_AUTO_MIGRATE": "false",
    }
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)  # spans are made, not exported
    python = sys.executable
    print(
        f"seeded {args.tasks} tasks; wrk {args.connections} connections, {args.duration}s per "
        f"side and endpoint in {args.rounds} alternating slices"
    )
    results: dict[str, dict[str, Result]] = {}
    try:
        with (
            process(
                [python, "-m", "taskflow_tasks", "serve"], env, tasks_port, "/healthz"
            ) as tasks_pid,
            process(
                [
                    python,
                    str(ROOT / "bench" / "tasks_control.py"),
                    str(control_port),
                    url,
                    ISSUER,
                    jwks_url,
                ],
                env,
                control_port,
                "/api/v1/tasks",
            ) as control_pid,
        ):
            sides = (("a tasks", tasks_port), ("b control", control_port))
            pids = {"a tasks": tasks_pid, "b control": control_pid}
            endpoints = [
                ("GET one task", f"/api/v1/tasks/{task_id}"),
                ("list of 50", "/api/v1/tasks?limit=50"),
            ]
            if args.only:
                endpoints = [e for e in endpoints if e[0].startswith(args.only)]
            for label, path in endpoints:
                for _side, port in sides:
                    warm_up(wrk, f"http://127.0.0.1:{port}{path}", token, args.connections)
                # a and b alternate in short slices, so a burst of load from elsewhere on a
                # shared machine hits both sides alike instead of skewing one of them.
                slices: dict[str, list[Result]] = {side: [] for side, _ in sides}
                for _ in range(args.rounds):
                    for side, port in sides:
                        slices[side].append(
                            run_wrk(
                                wrk,
                                f"http://127.0.0.1:{port}{path}",
                                token,
                                args.duration / args.rounds,
                                args.connections,
                                pids[side],
                            )
                        )
                results[label] = {side: combine(runs) for side, runs in slices.items()}
    finally:
        asyncio.run(drop_database(name))
        jwks_server.shutdown()

    header = f"{'endpoint':<14} {'side':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
    print(f"\n{header} {'non-2xx':>8} {'cpu us/req':>11}")
    for label, sides in results.items():
        for side, r in sides.items():
            print(
                f"{label:<14} {side:<10} {r.rps:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
                f"{r.non_2xx:>8} {r.cpu_us_per_request:>11.0f}"
            )
        a, b = sides["a tasks"], sides["b control"]
        ratio = a.rps / b.rps
        cpu_ratio = b.cpu_us_per_request / a.cpu_us_per_request
        target = 0.6 if label == "GET one task" else 0.4
        verdict = "ok" if ratio >= target else "BELOW TARGET"
        print(
            f"{label:<14} {'a/b':<10} {ratio:>9.2f}   (target >= {target}: {verdict}; "
            f"by server CPU per request: {cpu_ratio:.2f})"
        )


if __name__ == "__main__":
    main()
