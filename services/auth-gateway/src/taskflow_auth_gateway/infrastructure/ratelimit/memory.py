"""Rate limits in this process's memory (embedded mode, unit tests): GCRA per key."""

from __future__ import annotations

import time
from collections.abc import Callable

from taskflow_auth_gateway.domain.ratelimit import Decision, Quota, gcra


class InMemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self._clock = clock
        self._tats: dict[str, float] = {}
        self._max_keys = max_keys

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._tats.clear()

    async def check(self) -> None:
        return None

    async def hit(self, key: str, quota: Quota) -> Decision:
        # No await between read and write: atomic on the event loop.
        now = self._clock()
        decision, new_tat = gcra(self._tats.get(key), now, quota)
        if new_tat is not None:
            if len(self._tats) >= self._max_keys:
                self._evict(now)
            self._tats[key] = new_tat
        return decision

    def _evict(self, now: float) -> None:
        """Keys whose TAT is in the past hold no state worth keeping (their bucket is full)."""
        self._tats = {k: v for k, v in self._tats.items() if v > now}
