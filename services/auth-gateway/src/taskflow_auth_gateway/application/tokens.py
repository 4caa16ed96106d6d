"""Access-token verification at the edge, with a small cache of verified tokens.

The same token string is presented on every request of a session; its signature cannot
change, so after one full verification only the time window (exp/nbf) is re-checked. The
cache is bounded and keyed by the token's SHA-256 digest, not the token itself, so a heap dump
does not yield usable tokens. A key removed from the JWKS stays trusted for at most the
tokens' remaining lifetime (≤ 5 minutes with the realm's settings).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import jwt

from taskflow_common.auth import InvalidTokenError, JwtVerifier, Principal


class EdgeTokenVerifier:
    def __init__(
        self,
        verifier: JwtVerifier,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.verifier = verifier
        self._max_entries = max_entries
        self._clock = clock
        self._verified: dict[bytes, tuple[Principal, float, float]] = {}

    async def verify(self, token: str) -> Principal:
        """The token's principal, or InvalidTokenError."""
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._verified.get(digest)
        now = self._clock()
        leeway = self.verifier.leeway_seconds
        if cached is not None:
            principal, not_before, expires = cached
            if not_before - leeway <= now < expires + leeway:
                return principal
            del self._verified[digest]
            raise InvalidTokenError("token expired or not yet valid")
        principal = await self.verifier.averify(token)
        # Verified above; read the window without verifying twice.
        claims = jwt.decode(token, options={"verify_signature": False})
        if len(self._verified) >= self._max_entries:
            self._evict(now)
        self._verified[digest] = (
            principal,
            float(claims.get("nbf", claims.get("iat", 0))),
            float(claims["exp"]),
        )
        return principal

    def _evict(self, now: float) -> None:
        live = {k: v for k, v in self._verified.items() if v[2] > now}
        if len(live) >= self._max_entries:  # all live: drop the oldest half (insertion order)
            live = dict(list(live.items())[len(live) // 2 :])
        self._verified = live
