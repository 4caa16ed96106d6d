"""Model answers cached by model and content hash: Redis (distributed), memory (embedded).

A cache that fails is a miss, never an error: the model (or the heuristic) still answers.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from datetime import datetime
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from taskflow_suggest.application.metrics import CACHE_HITS, CACHE_MISSES
from taskflow_suggest.application.ports import PriorityModel
from taskflow_suggest.domain.model import PRIORITIES, TaskFacts, Verdict
from taskflow_suggest.infrastructure.llm.prompt import cache_key

log = logging.getLogger(__name__)


class AnswerCache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...


class RedisAnswerCache:
    def __init__(self, redis: Redis[bytes]) -> None:
        self._redis = redis

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(key)
        return value if isinstance(value, bytes) or value is None else str(value).encode()

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self._redis.set(key, value, ex=ttl_seconds)


class MemoryAnswerCache:
    """A bounded LRU with expiry, for the embedded mode's single process."""

    def __init__(self, max_entries: int = 2048) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max_entries = max_entries

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


class CachedModel:
    """Serves a cached verdict for the same model and content; stores fresh model verdicts."""

    def __init__(self, inner: PriorityModel, cache: AnswerCache, ttl_seconds: int = 3600) -> None:
        self._inner = inner
        self._cache = cache
        self._ttl = ttl_seconds

    @property
    def model_name(self) -> str:
        name: str = self._inner.model_name
        return name

    async def suggest(self, task: TaskFacts, now: datetime) -> Verdict:
        key = cache_key(self.model_name, task, now)
        cached = await self._lookup(key)
        if cached is not None:
            CACHE_HITS.inc()
            return cached
        CACHE_MISSES.inc()
        verdict = await self._inner.suggest(task, now)
        await self._store(key, verdict)
        return verdict

    async def _lookup(self, key: str) -> Verdict | None:
        try:
            raw = await self._cache.get(key)
        except (RedisError, OSError):
            log.warning("answer cache unavailable; treating as a miss", exc_info=True)
            return None
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            due = data.get("suggested_due_at")
            if data["priority"] not in PRIORITIES:
                return None
            return Verdict(
                priority=data["priority"],
                rationale=str(data["rationale"]),
                confidence=float(data["confidence"]),
                suggested_due_at=datetime.fromisoformat(due) if due else None,
                source="llm",
                model=data.get("model"),
            )
        except (ValueError, KeyError, TypeError):
            return None

    async def _store(self, key: str, verdict: Verdict) -> None:
        body = json.dumps(
            {
                "priority": verdict.priority,
                "rationale": verdict.rationale,
                "confidence": verdict.confidence,
                "suggested_due_at": (
                    verdict.suggested_due_at.isoformat() if verdict.suggested_due_at else None
                ),
                "model": verdict.model,
            }
        ).encode()
        try:
            await self._cache.set(key, body, self._ttl)
        except (RedisError, OSError):
            log.warning("answer cache unavailable; answer not cached", exc_info=True)
