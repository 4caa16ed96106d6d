"""A Redis-backed ProcessedEvents store (the redis extra), for consumers without a database."""

from __future__ import annotations

from uuid import UUID

from redis.asyncio import Redis


class RedisProcessedEvents:
    """Remembers handled event ids per consumer for `ttl_seconds` (longer than any redelivery)."""

    def __init__(
        self, redis: Redis[bytes], *, ttl_seconds: int = 7 * 24 * 3600, claim_seconds: int = 60
    ) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._claim_seconds = claim_seconds

    @staticmethod
    def _key(consumer: str, event_id: UUID) -> str:
        return f"taskflow:processed:{consumer}:{event_id}"

    async def claim(self, consumer: str, event_id: UUID) -> bool:
        # SET NX is the atomic claim. A claim left by a crashed process expires after
        # `claim_seconds`, so the broker's redelivery can handle the event then.
        claimed = await self._redis.set(
            self._key(consumer, event_id), b"processing", nx=True, ex=self._claim_seconds
        )
        return bool(claimed)

    async def done(self, consumer: str, event_id: UUID) -> bool:
        return await self._redis.get(self._key(consumer, event_id)) == b"done"

    async def mark(self, consumer: str, event_id: UUID) -> None:
        await self._redis.set(self._key(consumer, event_id), b"done", ex=self._ttl)

    async def release(self, consumer: str, event_id: UUID) -> None:
        await self._redis.delete(self._key(consumer, event_id))
