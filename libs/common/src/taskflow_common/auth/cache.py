"""A bounded cache of verified access tokens, so each process verifies a token's signature once.

The same token string is presented on every request of a session and its signature cannot
change, so after one full verification only the time window (exp/nbf, with the verifier's
leeway) is re-checked. Entries are keyed by the token's SHA-256 digest, not the token, so a
heap dump does not yield usable tokens. A key removed from the JWKS stays trusted for at most
the cached tokens' remaining lifetime (≤ 5 minutes with the realm's settings).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from taskflow_common.auth.principal import Principal


class ExpiredCachedTokenError(Exception):
    """A token verified before is outside its validity window now."""


class VerifiedTokenCache:
    def __init__(
        self,
        *,
        leeway_seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._leeway = leeway_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._verified: dict[bytes, tuple[Principal, float, float]] = {}

    @staticmethod
    def _digest(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str) -> Principal | None:
        """The principal of a token verified before; None if it was not (verify it then)."""
        digest = self._digest(token)
        cached = self._verified.get(digest)
        if cached is None:
            return None
        principal, not_before, expires = cached
        if not_before - self._leeway <= self._clock() < expires + self._leeway:
            return principal
        del self._verified[digest]
        raise ExpiredCachedTokenError("token expired or not yet valid")

    def put(self, token: str, principal: Principal, claims: dict[str, Any]) -> None:
        if len(self._verified) >= self._max_entries:
            self._evict()
        not_before = float(claims.get("nbf", claims.get("iat", 0)))
        self._verified[self._digest(token)] = (principal, not_before, float(claims["exp"]))

    def _evict(self) -> None:
        now = self._clock()
        live = {k: v for k, v in self._verified.items() if v[2] + self._leeway > now}
        if len(live) >= self._max_entries:  # all live: drop the oldest half (insertion order)
            live = dict(list(live.items())[len(live) // 2 :])
        self._verified = live
