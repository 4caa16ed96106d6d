"""Rate limits shared by every gateway replica: GCRA in one Lua script, atomic in Redis.

The script reads Redis's own clock (TIME), so replicas with skewed clocks agree, and stores
only the key's TAT in microseconds with an expiry equal to how long the state matters.
It is sent with EVALSHA over a small pipelined connection (see resp.py for why).
"""

from __future__ import annotations

import hashlib

from taskflow_auth_gateway.domain.ratelimit import Decision, Quota
from taskflow_auth_gateway.infrastructure.ratelimit.resp import PipelinedRedis, RedisReplyError

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
        self,
        url: str,
        prefix: str = "taskflow:gateway:rl:",
        *,
        timeout: float = 2.0,
        backoff: float = 5.0,
    ) -> None:
        self._url = url
        self._prefix = prefix
        self._timeout = timeout
        self._backoff = backoff
        self._sha = hashlib.sha1(GCRA_LUA.encode()).hexdigest()  # noqa: S324 - Redis's script id
        self._redis: PipelinedRedis | None = None
        self._attempts_before = 0  # connect attempts of clients already closed

    async def start(self) -> None:
        self._redis = PipelinedRedis(self._url, timeout=self._timeout, backoff=self._backoff)

    async def close(self) -> None:
        if self._redis is not None:
            self._attempts_before += self._redis.connect_attempts
            self._redis.close()
            self._redis = None

    @property
    def connect_attempts(self) -> int:
        """How often a connection to Redis was tried (at most one per back-off while down)."""
        current = self._redis.connect_attempts if self._redis is not None else 0
        return self._attempts_before + current

    async def check(self) -> None:
        assert self._redis is not None, "rate limiter not started"
        await self._redis.command("PING")

    async def hit(self, key: str, quota: Quota) -> Decision:
        assert self._redis is not None, "rate limiter not started"
        interval = round(quota.emission_interval * 1_000_000)
        tolerance = interval * quota.burst
        command = ("EVALSHA", self._sha, 1, self._prefix + key, interval, tolerance)
        try:
            reply = await self._redis.command(*command)
        except RedisReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            # First use on this Redis (or after a restart / SCRIPT FLUSH): load, then retry.
            await self._redis.command("SCRIPT", "LOAD", GCRA_LUA)
            reply = await self._redis.command(*command)
        allowed, remaining, reset_us, retry_us = reply
        return Decision(
            allowed=bool(allowed),
            limit=quota.burst,
            remaining=int(remaining),
            reset_after=int(reset_us) / 1_000_000,
            retry_after=int(retry_us) / 1_000_000,
        )
