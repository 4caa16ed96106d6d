"""GCRA (generic cell rate algorithm): a token bucket kept as one timestamp per key.

A key's state is its theoretical arrival time (TAT). Each request moves the TAT one emission
interval (period / rate) into the future; a request is refused when that would put the TAT
more than `burst` intervals ahead of now. The Redis Lua script mirrors `gcra` exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Quota:
    rate: float
    period_seconds: float
    burst: int

    @property
    def emission_interval(self) -> float:
        return self.period_seconds / self.rate

    @property
    def tolerance(self) -> float:
        """How far ahead of now the TAT may run: `burst` requests' worth of intervals."""
        return self.burst * self.emission_interval

    @property
    def policy(self) -> str:
        """The RateLimit-Policy header value (draft-ietf-httpapi-ratelimit-headers)."""
        return f"{self.burst};w={math.ceil(self.tolerance)}"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    # Seconds until the bucket is full again (RateLimit-Reset).
    reset_after: float
    # Seconds until the next request can pass (Retry-After); 0 when allowed.
    retry_after: float

    def headers(self) -> list[tuple[str, str]]:
        headers = [
            ("RateLimit-Limit", str(self.limit)),
            ("RateLimit-Remaining", str(self.remaining)),
            ("RateLimit-Reset", str(math.ceil(self.reset_after))),
        ]
        if not self.allowed:
            headers.append(("Retry-After", str(max(1, math.ceil(self.retry_after)))))
        return headers


def gcra(tat: float | None, now: float, quota: Quota) -> tuple[Decision, float | None]:
    """Decide one request; returns the decision and the new TAT (None: state unchanged)."""
    interval = quota.emission_interval
    tolerance = quota.tolerance
    start = now if tat is None or tat < now else tat
    new_tat = start + interval
    ahead = new_tat - now
    if ahead > tolerance + 1e-9:
        retry_after = ahead - tolerance
        remaining = 0
        return Decision(False, quota.burst, remaining, start - now, retry_after), None
    remaining = int((tolerance - ahead) / interval + 1e-9)
    return Decision(True, quota.burst, remaining, ahead, 0.0), new_tat
