"""When a failed call is sent again, and after how long.

A call is retried only when sending it twice cannot do a thing twice: a method that is
idempotent by definition (GET, HEAD, PUT, DELETE, OPTIONS) or a create that carries an
Idempotency-Key (the server answers the first result again). PATCH and POST without a key are
never retried, whatever went wrong.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 503})


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def may_resend(method: str, headers: httpx.Headers | dict[str, str]) -> bool:
    """Whether sending this request again is safe."""
    if method.upper() in IDEMPOTENT_METHODS:
        return True
    return any(name.lower() == "idempotency-key" for name in headers)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped; Retry-After wins when the server sends it.

    `attempts` counts every send, the first included (1 disables retries).
    """

    attempts: int = 4
    backoff: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True

    def next_delay(
        self,
        attempt: int,
        resendable: bool,
        response: httpx.Response | None,
    ) -> float | None:
        """Seconds to wait before resending after send number `attempt` (1-based) failed with
        `response` (None: no answer at all); None when the failure is final. `resendable`
        comes from `may_resend` (or the call's own knowledge that it only reads).

        A Retry-After longer than `max_delay` is final too: resending sooner would only be
        refused again, and the caller learns how long to wait from the error.
        """
        if attempt >= self.attempts or not resendable:
            return None
        if response is not None:
            if response.status_code not in RETRY_STATUSES:
                return None
            told = retry_after_seconds(response.headers.get("retry-after"))
            if told is not None:
                return told if told <= self.max_delay else None
        ceiling = min(self.backoff * 2 ** (attempt - 1), self.max_delay)
        # Full jitter spreads the clients a shared outage stopped at once (not cryptographic).
        return random.uniform(0, ceiling) if self.jitter else ceiling  # noqa: S311


NO_RETRIES = RetryPolicy(attempts=1)
