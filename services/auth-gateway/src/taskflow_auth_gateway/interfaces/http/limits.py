"""Rate limits per route group: which key, which quota, and the 429 answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from taskflow_auth_gateway.application.ports import RateLimiter, Scope, Send
from taskflow_auth_gateway.domain.ratelimit import Decision, Quota
from taskflow_auth_gateway.interfaces.http.metrics import RATE_LIMITED, RATE_LIMITER_ERRORS
from taskflow_auth_gateway.interfaces.http.responses import send_problem
from taskflow_common.problems import Problem

log = logging.getLogger(__name__)

# Sign-in paths and their group, per client IP, whether the gateway answers them (/auth/*) or
# an upstream does (the admin site's OIDC sign-in: each start and each callback, which makes
# the admin service exchange a code with the identity provider). Paths not listed here are
# not limited this way (JWKS, discovery).
AUTH_GROUPS = {
    "/auth/login": "auth_credentials",
    "/auth/register": "auth_credentials",
    "/admin/oidc/authenticate": "auth_credentials",
    "/admin/oidc/callback": "auth_credentials",
    "/auth/oidc/login": "auth_credentials",  # the embedded provider's password form
    "/auth/oidc/token": "auth_session",
    "/auth/oidc/logout": "auth_session",
    "/auth/refresh": "auth_session",
    "/auth/logout": "auth_session",
    "/auth/me": "auth_session",
}


_MAX_TRACKED_KEYS = 100_000
# While the limiter is down every request fails open: one log line per interval, not per request.
_FAIL_OPEN_LOG_INTERVAL_SECONDS = 60.0


class RateLimits:
    def __init__(self, limiter: RateLimiter | None, quotas: Mapping[str, Quota]) -> None:
        self.limiter = limiter
        self.quotas = dict(quotas)
        # Per bucket: what the last decision left, and how many safe requests are out
        # alongside their check right now (see reserve_alongside).
        self._remaining: dict[str, int] = {}
        self._alongside: dict[str, int] = {}
        self._fail_open_logged_at: float | None = None
        self._fail_open_since_log = 0

    def reserve_alongside(self, group: str, key: str) -> bool:
        """May a safe request (GET/HEAD) go upstream while its limit check is still running?

        Yes while fewer than half of what the last decision left are already out that way.
        The count in the limiter stays exact and a refusal still answers 429; what this bounds
        is the work refused requests can cause upstream: at most half the remaining budget.
        Call `release_alongside` when the check has answered.
        """
        bucket = f"{group}:{key}"
        out = self._alongside.get(bucket, 0)
        if out >= self._remaining.get(bucket, 0) // 2:
            return False
        self._alongside[bucket] = out + 1
        return True

    def release_alongside(self, group: str, key: str) -> None:
        bucket = f"{group}:{key}"
        out = self._alongside.get(bucket, 0) - 1
        if out > 0:
            self._alongside[bucket] = out
        else:
            self._alongside.pop(bucket, None)

    async def hit(self, group: str, key: str) -> Decision | None:
        """The decision, or None when the group is not limited or the limiter failed."""
        quota = self.quotas.get(group)
        if self.limiter is None or quota is None:
            return None
        bucket = f"{group}:{key}"
        try:
            decision = await self.limiter.hit(bucket, quota)
        except Exception:
            # Fail open: a Redis outage must not take the whole API down with it.
            RATE_LIMITER_ERRORS.inc()
            self._log_fail_open()
            return None
        if len(self._remaining) >= _MAX_TRACKED_KEYS:
            self._remaining.clear()
        self._remaining[bucket] = decision.remaining if decision.allowed else 0
        return decision

    def _log_fail_open(self) -> None:
        self._fail_open_since_log += 1
        now = time.monotonic()
        last = self._fail_open_logged_at
        if last is not None and now - last < _FAIL_OPEN_LOG_INTERVAL_SECONDS:
            return
        log.warning(
            "rate limiter unavailable; requests let through (%d since the last line)",
            self._fail_open_since_log,
            exc_info=True,
        )
        self._fail_open_logged_at = now
        self._fail_open_since_log = 0

    async def hit_alongside(self, group: str, key: str) -> Decision | None:
        """`hit` for a request reserved with `reserve_alongside`."""
        try:
            return await self.hit(group, key)
        finally:
            self.release_alongside(group, key)

    async def refuse(self, scope: Scope, send: Send, decision: Decision, group: str) -> None:
        RATE_LIMITED.labels(group).inc()
        await send_problem(
            scope,
            send,
            Problem(
                status=429,
                type="rate-limited",
                detail="Too many requests; retry after the time in Retry-After.",
            ),
            [(n.lower().encode(), v.encode()) for n, v in decision.headers()],
        )
