"""Verify a bearer access token and turn it into a Principal.

RS256 is the only algorithm accepted (so `alg: none` and HS256-signed-with-the-public-key
forgeries are refused before any key is looked at); `iss`, `aud`, `exp` and `nbf` are checked
with a small leeway; refresh and ID tokens (`typ` other than Bearer) are refused. A token
verified once is remembered (`VerifiedTokenCache`): later requests re-check only its window.
"""

from __future__ import annotations

import asyncio
from typing import Any

import jwt

from taskflow_common.auth.cache import ExpiredCachedTokenError, VerifiedTokenCache
from taskflow_common.auth.jwks import JwksCache
from taskflow_common.auth.principal import Principal

ALLOWED_ALGORITHMS = ("RS256",)
ACCEPTED_TOKEN_TYPES = frozenset({"Bearer", "at+jwt", "access_token"})


class InvalidTokenError(Exception):
    """The token is not an acceptable access token; the message says why (for logs only)."""


class JwtVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: JwksCache,
        leeway_seconds: int = 10,
        cache_size: int = 10_000,
    ) -> None:
        """`cache_size` verified tokens are remembered per process; 0 verifies every time."""
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks
        self.leeway_seconds = leeway_seconds
        self._cache = (
            VerifiedTokenCache(leeway_seconds=leeway_seconds, max_entries=cache_size)
            if cache_size > 0
            else None
        )

    def verify(self, token: str) -> Principal:
        """Synchronous verification; may fetch the JWKS (rarely) on an unknown kid."""
        if (cached := self._cached(token)) is not None:
            return cached
        kid = self._kid(token)
        key = self.jwks.key_for(kid)
        return self._decode(token, key)

    async def averify(self, token: str) -> Principal:
        """As verify, but a JWKS fetch (the only I/O) runs off the event loop."""
        if (cached := self._cached(token)) is not None:
            return cached
        kid = self._kid(token)
        key = self.jwks.get(kid)
        if key is None and (self.jwks.may_refresh() or self.jwks.refreshing):
            key = await asyncio.to_thread(self.jwks.key_for, kid)
        return self._decode(token, key)

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims, for callers that need more than the Principal (e.g. exp)."""
        return self._claims(token, self.jwks.key_for(self._kid(token)))

    def _kid(self, token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"malformed token: {exc}") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise InvalidTokenError(f"algorithm {header.get('alg')!r} is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidTokenError("token has no kid")
        return kid

    def _cached(self, token: str) -> Principal | None:
        if self._cache is None:
            return None
        try:
            return self._cache.get(token)
        except ExpiredCachedTokenError as exc:
            raise InvalidTokenError(str(exc)) from exc

    def _decode(self, token: str, key: Any | None) -> Principal:
        claims = self._claims(token, key)
        if not claims.get("sub"):
            raise InvalidTokenError("token has no subject")
        principal = Principal.from_claims(claims)
        if self._cache is not None:
            self._cache.put(token, principal, claims)
        return principal

    def _claims(self, token: str, key: Any | None) -> dict[str, Any]:
        if key is None:
            raise InvalidTokenError("unknown signing key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(str(exc)) from exc
        token_type = claims.get("typ")
        if token_type is not None and token_type not in ACCEPTED_TOKEN_TYPES:
            raise InvalidTokenError(f"a {token_type} token is not an access token")
        return claims
