"""Email addresses come from Keycloak's admin API, cached in Redis; Redis down is no outage."""

from __future__ import annotations

from typing import Any

from redis import Redis

from taskflow_common.testing import KeycloakRealm, require_component
from taskflow_common.testing.stack import REDIS_URL
from taskflow_notify.adapters.users import KeycloakUserDirectory


def _directory(redis: Redis) -> KeycloakUserDirectory:
    return KeycloakUserDirectory(
        base_url="http://127.0.0.1:8180",
        realm="taskflow",
        client_id="taskflow-gateway",
        client_secret="taskflow-gateway-dev-secret",
        redis=redis,
        ttl_seconds=60,
    )


def test_addresses_come_from_keycloak_and_are_cached(notify_django: Any) -> None:
    require_component("redis")
    user = KeycloakRealm().create_user("addressed")
    redis = Redis.from_url(REDIS_URL)
    contact = _directory(redis).contact_for(user.id)
    assert contact is not None
    assert contact.email == user.email
    assert redis.ttl(f"taskflow:notify:user:{user.id}") > 0
    assert _directory(redis).contact_for("00000000-0000-0000-0000-000000000000") is None


def test_a_dead_cache_falls_back_to_keycloak(notify_django: Any) -> None:
    user = KeycloakRealm().create_user("uncached")
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    contact = _directory(dead).contact_for(user.id)
    assert contact is not None
    assert contact.email == user.email


def test_a_hostile_id_never_reaches_another_admin_path(notify_django: Any) -> None:
    # Unescaped, `../users/<id>` walked out of /users/ and fetched someone else under the
    # service account's token; ids that are not Keycloak user ids name nobody.
    victim = KeycloakRealm().create_user("victim")
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    directory = _directory(dead)
    hostile = [
        f"../users/{victim.id}",
        f"{victim.id}/../{victim.id}",
        f"%2e%2e/users/{victim.id}",
        f"{victim.id}?briefRepresentation=true",
        f"{victim.id.upper()}",
        "../clients",
        "../roles",
    ]
    for user_id in hostile:
        assert directory.contact_for(user_id) is None, user_id
    assert directory.contact_for(victim.id) is not None
