"""Rate limits per route group: which key, which quota, and the 429 answer."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from taskflow_auth_gateway.application.ports import RateLimiter, Scope, Send
from taskflow_auth_gateway.domain.ratelimit import Decision, Quota
from taskflow_auth_gateway.interfaces.http.metrics import RATE_LIMITED, RATE_LIMITER_ERRORS
from taskflow_auth_gateway.interfaces.http.responses import send_problem
from taskflow_common.problems import Problem

log = logging.getLogger(__name__)

# /auth/* paths and their group; paths not listed here are not limited (JWKS, discovery).
AUTH_GROUPS = {
    "/auth/login": "auth_credentials",
    "/auth/register": "auth_credentials",
    "/auth/refresh": "auth_session",
    "/auth/logout": "auth_session",
    "/auth/me": "auth_session",
}


class RateLimits:
    def __init__(self, limiter: RateLimiter | None, quotas: Mapping[str, Quota]) -> None:
        self.limiter = limiter
        self.quotas = dict(quotas)

    async def hit(self, group: str, key: str) -> Decision | None:
        """The decision, or None when the group is not limited or the limiter failed."""
        quota = self.quotas.get(group)
        if self.limiter is None or quota is None:
            return None
        try:
            return await self.limiter.hit(f"{group}:{key}", quota)
        except Exception:
            # Fail open: a Redis outage must not take the whole API down with it.
            RATE_LIMITER_ERRORS.inc()
            log.warning("rate limiter unavailable; request let through", exc_info=True)
            return None

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
