"""A JWKS cache: keys are parsed once, refreshed on an unknown kid at most every N seconds."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)

JwksSource = Callable[[], Mapping[str, Any]]
"""Returns a JWKS document ({"keys": [...]}). Called rarely: at first use and on unknown kids."""


def http_jwks_source(url: str, timeout: float = 5.0) -> JwksSource:
    def fetch() -> Mapping[str, Any]:
        response = httpx.get(url, timeout=timeout)
        response.raise_for_status()
        document: Mapping[str, Any] = response.json()
        return document

    return fetch


def static_jwks_source(document: Mapping[str, Any] | Callable[[], Mapping[str, Any]]) -> JwksSource:
    """For the embedded mode, where the development identity provider lives in-process."""
    if callable(document):
        return document
    return lambda: document


class JwksCache:
    """Parsed signing keys by kid. Thread-safe; refreshes are rate-limited."""

    def __init__(
        self,
        source: JwksSource,
        *,
        min_refresh_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._min_refresh_interval = min_refresh_interval
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._last_refresh: float | None = None
        self._lock = threading.Lock()
        self.refresh_count = 0

    def get(self, kid: str) -> Any | None:
        """The parsed key for kid, if already known (never does I/O)."""
        return self._keys.get(kid)

    def may_refresh(self) -> bool:
        last = self._last_refresh
        return last is None or self._clock() - last >= self._min_refresh_interval

    def refresh(self) -> None:
        """Fetch and parse the key set, unless another refresh happened too recently."""
        with self._lock:
            if not self.may_refresh():
                return
            self._last_refresh = self._clock()
            try:
                document = self._source()
            except Exception:
                log.warning("jwks refresh failed", exc_info=True)
                return
            keys: dict[str, Any] = {}
            for entry in document.get("keys", []):
                if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
                    continue
                if entry.get("alg", "RS256") != "RS256" or "kid" not in entry:
                    continue
                try:
                    keys[entry["kid"]] = jwt.PyJWK(dict(entry), algorithm="RS256").key
                except jwt.PyJWKError:
                    log.warning("skipping unusable JWK", extra={"kid": entry.get("kid")})
            self._keys = keys
            self.refresh_count += 1

    @property
    def refreshing(self) -> bool:
        """A refresh is running right now (callers missing a key should wait for it)."""
        return self._lock.locked()

    def key_for(self, kid: str) -> Any | None:
        """Known key, or refresh once (rate-limited) and look again.

        A caller arriving while another thread's refresh is in flight waits for it instead of
        failing: concurrent first requests (e.g. a burst of WebSocket connects just after
        start) must all see the freshly fetched keys.
        """
        key = self.get(kid)
        if key is None and (self.may_refresh() or self.refreshing):
            with self._lock:
                key = self.get(kid)  # the refresh we waited for may have brought it
            if key is None and self.may_refresh():
                self.refresh()
                key = self.get(kid)
        return key
