"""Rate limits shared by every gateway replica: GCRA in one Lua script, atomic in Redis.

The script reads Redis's own clock (TIME), so replicas with skewed clocks agree, and stores
only the key's TAT in microseconds with an expiry equal to how long the state matters.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from taskflow_auth_gateway.domain.ratelimit import Decision, Quota

# KEYS[1] = bucket key; ARGV = emission interval (µs), tolerance (µs).
# Returns {allowed (0/1), remaining, reset_after (µs), retry_after (µs)}. Mirrors domain.gcra.
GCRA_LUA = """
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = tat
if start < now then start = now end
local new_tat = start + interval
local ahead = new_tat - now
if ahead > tolerance then
  return {0, 0, start - now, ahead - tolerance}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil(ahead / 1000) + 1)
return {1, math.floor((tolerance - ahead) / interval), ahead, 0}
"""


class RedisRateLimiter:
    def __init__(
        self, url: str, prefix: str = "taskflow:gateway:rl:", max_connections: int = 64
    ) -> None:
        self._url = url
        self._max_connections = max_connections
        self._prefix = prefix
        self._redis: Any = None
        self._pool: Any = None
        self._script: Any = None

    async def start(self) -> None:
        # A bounded pool that makes callers wait for a connection (instead of failing) when
        # more requests are in flight than connections.
        pool: Any = aioredis.BlockingConnectionPool.from_url(
            self._url,
            max_connections=self._max_connections,
            timeout=2,
            socket_connect_timeout=2,
            socket_timeout=2,
        )
        self._pool = pool
        self._redis = aioredis.Redis(connection_pool=pool)
        self._script = self._redis.register_script(GCRA_LUA)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            await self._pool.disconnect()
            self._redis = None

    async def check(self) -> None:
        assert self._redis is not None, "rate limiter not started"
        await self._redis.ping()

    async def hit(self, key: str, quota: Quota) -> Decision:
        assert self._script is not None, "rate limiter not started"
        interval = round(quota.emission_interval * 1_000_000)
        tolerance = interval * quota.burst
        allowed, remaining, reset_us, retry_us = await self._script(
            keys=[self._prefix + key], args=[interval, tolerance]
        )
        return Decision(
            allowed=bool(allowed),
            limit=quota.burst,
            remaining=int(remaining),
            reset_after=int(reset_us) / 1_000_000,
            retry_after=int(retry_us) / 1_000_000,
        )
