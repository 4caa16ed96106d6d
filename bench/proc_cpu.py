"""CPU seconds used by each part of the running suite and stack, read from /proc (Linux).

Latency on a shared 2-core machine swings with the neighbours; CPU time spent per unit of
work does not, much. Benchmarks snapshot before and after a run and print milliseconds of CPU
per operation for every process, so a change's effect on each hop is visible.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

SUITE_PIDS = Path(__file__).resolve().parent.parent / ".stack" / "suite"
# Stack components are recognised by their command name (postgres forks a process per
# connection; RabbitMQ's VM is beam.smp).
STACK_COMMANDS = {
    "postgres": "postgres",
    "beam.smp": "rabbitmq",
    "redis-server": "redis",
    "java": "keycloak",
    "jaeger": "jaeger",
    "mailpit": "mailpit",
}
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command, parent pid, CPU seconds) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    command = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[1] is ppid; utime and stime are fields 14 and 15 of the whole line.
    return command, int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def snapshot() -> dict[str, float]:
    """CPU seconds so far per part: suite roles (with their children), stack components, this."""
    procs: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            procs[int(entry.name)] = stat
    label_of: dict[int, str] = {os.getpid(): "bench (this process)"}
    for pid_file in SUITE_PIDS.glob("*.pid"):
        try:
            label_of[int(pid_file.read_text().strip())] = pid_file.stem
        except ValueError:
            continue
    totals: dict[str, float] = defaultdict(float)
    for pid, (command, _, seconds) in procs.items():
        label = _label(pid, procs, label_of) or STACK_COMMANDS.get(command)
        if label is not None:
            totals[label] += seconds
    return dict(totals)


def _label(
    pid: int, procs: dict[int, tuple[str, int, float]], label_of: dict[int, str]
) -> str | None:
    seen = 0
    while pid in procs and seen < 64:  # a suite role's children count as that role
        if pid in label_of:
            return label_of[pid]
        pid = procs[pid][1]
        seen += 1
    return None


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def report(
    before: dict[str, float],
    after: dict[str, float],
    operations: int,
    machine: tuple[tuple[float, float], tuple[float, float]],
    unit: str = "update",
) -> str:
    """A table of CPU milliseconds per operation, heaviest first, and the machine's load."""
    used = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    lines = [f"CPU ms per {unit} (n={operations}):"]
    for label, seconds in sorted(used.items(), key=lambda item: -item[1]):
        if seconds > 0:
            lines.append(f"  {label:<22} {1000 * seconds / max(operations, 1):7.2f}")
    total = sum(used.values())
    lines.append(f"  {'total':<22} {1000 * total / max(operations, 1):7.2f}")
    (busy0, all0), (busy1, all1) = machine
    lines.append(
        f"machine busy {100 * (busy1 - busy0) / max(all1 - all0, 1e-9):.0f} % of all cores"
    )
    return "\n".join(lines)
