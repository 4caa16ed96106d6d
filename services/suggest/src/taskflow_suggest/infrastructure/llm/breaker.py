"""A circuit breaker in front of the model: after N consecutive failures it answers
"breaker_open" at once (the heuristic serves), and after a cool-down lets one probe through."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from enum import Enum

from taskflow_suggest.application.errors import ModelFailure
from taskflow_suggest.application.metrics import BREAKER_STATE
from taskflow_suggest.application.ports import PriorityModel
from taskflow_suggest.domain.model import TaskFacts, Verdict


class BreakerState(Enum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after = reset_after
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.reset_after:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Closed: yes. Open: no. Half-open: one probe at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False
        BREAKER_STATE.set(BreakerState.CLOSED.value)

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            BREAKER_STATE.set(BreakerState.OPEN.value)
        self._probing = False


class BreakerGuardedModel:
    """A PriorityModel that consults the breaker before calling the one it wraps."""

    def __init__(self, inner: PriorityModel, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self.breaker = breaker

    @property
    def model_name(self) -> str:
        name: str = self._inner.model_name
        return name

    async def suggest(self, task: TaskFacts, now: datetime) -> Verdict:
        if not self.breaker.allow():
            raise ModelFailure("breaker_open")
        try:
            verdict = await self._inner.suggest(task, now)
        except ModelFailure:
            self.breaker.record_failure()
            raise
        except asyncio.CancelledError:
            # Cancelled by the caller's deadline: the model was too slow, which is a failure.
            self.breaker.record_failure()
            raise
        self.breaker.record_success()
        return verdict
