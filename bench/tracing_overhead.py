"""What tracing costs: GET /api/v1/tasks/{id} through the gateway with every request traced
(100 % sampling, OTLP over gRPC to the stack's Jaeger) against tracing off, in one run.

Two copies of the same pair run side by side, as in the distributed mode (env from
`scripts/stack env`): a tasks service and a gateway in front of it (the JWT verified at the
edge, the per-user rate limit in Redis with the quota raised). One pair has
`OTEL_SDK_DISABLED=true`; the other samples every request (`OTEL_TRACES_SAMPLER=always_on`)
and exports its spans to Jaeger. wrk drives the two gateways in alternating rounds, so slow
drifts in the machine's load hit both alike; each side's median round is kept.

Run: `uv run python bench/tracing_overhead.py [--split]` (about 40 s; the stack must be up).
`--split` adds two sides: production's sampling (`parentbased_traceidratio`, 0.1) and every
request traced with no exporter (what making the spans costs, apart from exporting them).
Prints req/s, p50, p99 and CPU per request (gateway + tasks) for each side, and the ratios.
Target (from the issue): tracing on costs <= 15 % of the throughput (ratio >= 0.85x).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path

import httpx
from gateway_overhead import Result, free_port, median, process, stack_env, wrk
from tasks_api import ensure_wrk

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.85

SIDES = {
    "off": {"OTEL_SDK_DISABLED": "true"},
    "on": {
        "OTEL_SDK_DISABLED": "false",
        "OTEL_TRACES_SAMPLER": "always_on",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
    },
    # Production's sampling (values-production.yaml): one trace in ten kept, whole.
    "sampled": {
        "OTEL_SDK_DISABLED": "false",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
    },
    # Spans made but not exported (no OTLP endpoint): splits the span's cost from the export's.
    "unexported": {
        "OTEL_SDK_DISABLED": "false",
        "OTEL_TRACES_SAMPLER": "always_on",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
    },
}


def start_pair(
    stack: ExitStack, env: dict[str, str], side: str, logs: Path
) -> tuple[str, list[int]]:
    """A tasks service and its gateway for one side; (the gateway's URL, both pids)."""
    py = sys.executable
    side_env = {**env, **SIDES[side], "OTEL_SERVICE_NAME": f"taskflow-bench-{side}"}
    tasks_port, gateway_port = free_port(), free_port()
    tasks_url, tasks_pid = stack.enter_context(
        process(
            [py, "-m", "taskflow_tasks", "serve"],
            side_env,
            tasks_port,
            logs / f"bench-tracing-{side}-tasks.log",
        )
    )
    gateway_env = {
        **side_env,
        "TASKFLOW_TASKS_URL": tasks_url,
        "TASKFLOW_RATE_LIMITER": "redis",
        "TASKFLOW_RATE_LIMITS": json.dumps(
            {"api": {"rate": 1_000_000, "period_seconds": 1, "burst": 1_000_000}}
        ),
    }
    gateway_url, gateway_pid = stack.enter_context(
        process(
            [py, "-m", "taskflow_auth_gateway", "serve"],
            gateway_env,
            gateway_port,
            logs / f"bench-tracing-{side}-gateway.log",
        )
    )
    return gateway_url, [gateway_pid, tasks_pid]


def run_side(url: str, token: str, connections: int, seconds: int, pids: list[int]) -> Result:
    """One wrk round; CPU per request summed over the side's gateway and tasks processes."""
    from gateway_overhead import cpu_seconds

    before = sum(cpu_seconds(pid) for pid in pids)
    result = wrk(url, token, connections, seconds)
    spent = sum(cpu_seconds(pid) for pid in pids) - before
    result.cpu_us = spent * 1e6 / max(result.requests, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--split",
        action="store_true",
        help="also run production's 10 %% sampling, and a side that makes spans but exports none",
    )
    args = parser.parse_args()
    sides_run = [*SIDES] if args.split else ["off", "on"]
    ensure_wrk()

    sys.path.insert(0, str(ROOT / "libs" / "common" / "src"))
    from taskflow_common.testing import KeycloakRealm

    env = stack_env()
    realm = KeycloakRealm()
    token = realm.access_token(realm.create_user("bench-tracing"))
    logs = Path(os.environ.get("TMPDIR", "/tmp"))
    with ExitStack() as stack:
        sides = {side: start_pair(stack, env, side, logs) for side in sides_run}
        paths = {}
        for side, (gateway, _) in sides.items():
            created = httpx.post(
                f"{gateway}/api/v1/tasks",
                json={"title": f"bench tracing {side}"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            created.raise_for_status()
            paths[side] = f"/api/v1/tasks/{created.json()['id']}"
            wrk(gateway + paths[side], token, 8, 2)  # warm: pools, JWKS, caches, exporter
        rounds: dict[str, list[Result]] = {side: [] for side in sides_run}
        for _ in range(args.rounds):
            for side, (gateway, pids) in sides.items():
                url = gateway + paths[side]
                rounds[side].append(run_side(url, token, args.connections, args.duration, pids))
    results = {side: median(runs) for side, runs in rounds.items()}

    print(
        f"GET /api/v1/tasks/{{id}} through the gateway, wrk -t1 -c{args.connections}, median of "
        f"{args.rounds} alternating {args.duration}s runs per side, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'tracing':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'cpu us/req':>12}"
    )
    for side, r in results.items():
        print(
            f"{side:<10}{r.rps:>10.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.errors:>8}"
            f"{r.cpu_us:>12.0f}"
        )
    print("(cpu us/req: the side's gateway and tasks processes together)")
    ratio = results["on"].rps / results["off"].rps
    cpu_ratio = results["off"].cpu_us / results["on"].cpu_us if results["on"].cpu_us else 0.0
    print(f"throughput on/off: {ratio:.2f}x (cost {1 - ratio:.0%}; target >= {TARGET_RATIO:.2f}x)")
    print(f"CPU-bound estimate (off CPU / on CPU per request): {cpu_ratio:.2f}x")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "ratio": ratio,
                    "cpu_ratio": cpu_ratio,
                    **{k: r.__dict__ for k, r in results.items()},
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
