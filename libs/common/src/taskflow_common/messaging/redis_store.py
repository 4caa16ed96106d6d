"""A Redis-backed ProcessedEvents store (the redis extra), for consumers without a database."""

from __future__ import annotations

from uuid import UUID

from redis.asyncio import Redis


class RedisProcessedEvents:
    """Remembers handled event ids per consumer for `ttl_seconds` (longer than any redelivery)."""

    def __init__(self, redis: Redis[bytes], *, ttl_seconds: int = 7 * 24 * 3600) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    @staticmethod
    def _key(consumer: str, event_id: UUID) -> str:
        return f"taskflow:processed:{consumer}:{event_id}"

    async def seen(self, consumer: str, event_id: UUID) -> bool:
        return bool(await self._redis.exists(self._key(consumer, event_id)))

    async def mark(self, consumer: str, event_id: UUID) -> None:
        await self._redis.set(self._key(consumer, event_id), b"1", ex=self._ttl)
