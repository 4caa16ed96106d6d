"""Readiness checks, framework-free: each check is a name and an async probe."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

Probe = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class ReadinessCheck:
    """A dependency this process needs to serve traffic (database, broker, identity...)."""

    name: str
    probe: Probe


@dataclass(frozen=True)
class ReadinessReport:
    ready: bool
    checks: dict[str, str]

    @property
    def status(self) -> str:
        return "ready" if self.ready else "not ready"

    def public(self) -> dict[str, object]:
        """What anyone may see (the public listener, kubelet probes): ready or not, no internals."""
        return {"status": self.status}

    def detailed(self) -> dict[str, object]:
        """For operators (the metrics listener): every check by name, with why it is down."""
        return {"status": self.status, "checks": self.checks}


async def run_checks(
    checks: Sequence[ReadinessCheck], per_check_timeout: float = 2.0
) -> ReadinessReport:
    """Run every probe concurrently; each one down is reported by name with its reason."""

    async def one(check: ReadinessCheck) -> tuple[str, str]:
        try:
            await asyncio.wait_for(check.probe(), per_check_timeout)
        except TimeoutError:
            return check.name, f"down: no answer within {per_check_timeout:g}s"
        except Exception as exc:  # a probe's failure is a report, never a crash
            return check.name, f"down: {type(exc).__name__}: {exc}"[:300]
        return check.name, "ok"

    results = await asyncio.gather(*(one(c) for c in checks))
    statuses = dict(results)
    return ReadinessReport(all(s == "ok" for s in statuses.values()), statuses)


def tcp_probe(host: str, port: int) -> Probe:
    """A probe that only opens (and closes) a TCP connection."""

    async def probe() -> None:
        _reader, writer = await asyncio.open_connection(host, port)
        writer.close()
        await writer.wait_closed()

    return probe
