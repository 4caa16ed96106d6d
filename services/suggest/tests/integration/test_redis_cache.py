"""The model-answer cache on the real Redis: keyed by model and content, and a cache that is
down is a miss, never a failure."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis
from suggest_fakes import FakeModel

from taskflow_common.testing import require_component
from taskflow_common.testing.stack import REDIS_URL
from taskflow_suggest.domain.model import TaskFacts, Verdict
from taskflow_suggest.infrastructure.llm.cache import CachedModel, RedisAnswerCache
from taskflow_suggest.infrastructure.llm.prompt import cache_key

NOW = datetime.now(UTC)


async def test_the_same_model_and_content_is_answered_from_redis():
    require_component("redis")
    redis = Redis.from_url(REDIS_URL)
    inner = FakeModel(
        Verdict("high", "Because.", 0.8, NOW.replace(microsecond=0), "llm", "fake-model")
    )
    model = CachedModel(inner, RedisAnswerCache(redis), ttl_seconds=60)
    task = TaskFacts(title=f"Renew the TLS certificate {NOW.timestamp()}")
    try:
        first = await model.suggest(task, NOW)
        second = await model.suggest(task, NOW)
        other = await model.suggest(TaskFacts(title=task.title + " today"), NOW)
        assert inner.calls == 2  # the repeat came from the cache
        assert second == first
        assert other.priority == "high"
        ttl = await redis.ttl(cache_key("fake-model", task, NOW))
        assert 0 < ttl <= 60
    finally:
        await redis.delete(cache_key("fake-model", task, NOW))
        await redis.aclose()


async def test_an_unreachable_redis_is_a_miss_not_an_error():
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    inner = FakeModel(Verdict("low", "Fine.", 0.6, None, "llm", "fake-model"))
    model = CachedModel(inner, RedisAnswerCache(dead), ttl_seconds=60)
    verdict = await model.suggest(TaskFacts(title="Water plants"), NOW)
    assert verdict.priority == "low"
    assert inner.calls == 1
    await dead.aclose()
