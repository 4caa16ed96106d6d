"""UserDirectory adapters: Keycloak's admin API (cached in Redis), or an in-process lookup."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from redis import Redis
from redis.exceptions import RedisError

from taskflow_common.ids import is_canonical_uuid
from taskflow_notify.ports import UserContact

log = logging.getLogger(__name__)


class KeycloakUserDirectory:
    """Looks users up with the gateway's service account; answers cached in Redis with a TTL."""

    def __init__(
        self,
        *,
        base_url: str,
        realm: str,
        client_id: str,
        client_secret: str,
        redis: Redis,
        ttl_seconds: int = 300,
        timeout: float = 5.0,
    ) -> None:
        self._realm_url = f"{base_url.rstrip('/')}/realms/{realm}"
        self._admin_url = f"{base_url.rstrip('/')}/admin/realms/{realm}"
        self._client_id = client_id
        self._client_secret = client_secret
        self._redis = redis
        self._ttl = ttl_seconds
        self._timeout = timeout
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def contact_for(self, user_id: str) -> UserContact | None:
        # Ids come from events (project members, assignees): one that is not a Keycloak user
        # id names nobody, and must never become another admin path under our token.
        if not is_canonical_uuid(user_id):
            return None
        key = f"taskflow:notify:user:{user_id}"
        cached = self._cache_get(key)
        if cached is not None:
            return _contact(user_id, json.loads(cached))
        response = httpx.get(
            f"{self._admin_url}/users/{quote(user_id, safe='')}",
            headers={"Authorization": f"Bearer {self._service_token()}"},
            timeout=self._timeout,
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        user = response.json()
        self._cache_set(key, json.dumps(user))
        return _contact(user_id, user)

    # The cache only saves Keycloak round trips: when Redis is down, ask Keycloak directly.
    def _cache_get(self, key: str) -> bytes | None:
        if not self._ttl:
            return None
        try:
            value = self._redis.get(key)
        except RedisError:
            log.warning("user cache unavailable; asking Keycloak", exc_info=True)
            return None
        return value if isinstance(value, bytes) else None

    def _cache_set(self, key: str, value: str) -> None:
        if not self._ttl:
            return
        try:
            self._redis.set(key, value, ex=self._ttl)
        except RedisError:
            log.warning("user cache unavailable; not caching", exc_info=True)

    def _service_token(self) -> str:
        with self._lock:
            if self._token is not None and self._token[1] > time.monotonic():
                return self._token[0]
            response = httpx.post(
                f"{self._realm_url}/protocol/openid-connect/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                },
                timeout=self._timeout,
            )
            response.raise_for_status()
            body = response.json()
            # Renew a little before expiry so a token never lapses mid-request.
            lifetime = max(float(body.get("expires_in", 60)) - 15.0, 5.0)
            self._token = (str(body["access_token"]), time.monotonic() + lifetime)
            return self._token[0]


class CallableUserDirectory:
    """The embedded mode: the development identity provider's `get_user(user_id)`.

    It answers `(id, username, email)` or None; mappings and objects with `email` work too.
    """

    def __init__(self, get_user: Callable[[str], Any]) -> None:
        self._get_user = get_user

    def contact_for(self, user_id: str) -> UserContact | None:
        user = self._get_user(user_id)
        if user is None:
            return None
        if isinstance(user, tuple):
            _id, username, email = user
            user = {"username": username, "email": email}
        elif not isinstance(user, dict):
            user = {
                "email": getattr(user, "email", None),
                "username": getattr(user, "username", None),
            }
        return _contact(user_id, user)


def _contact(user_id: str, user: dict[str, Any]) -> UserContact:
    names = " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p)
    return UserContact(
        user_id=user_id,
        email=user.get("email") or None,
        display_name=names or user.get("username") or None,
    )
