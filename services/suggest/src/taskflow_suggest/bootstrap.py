"""The composition root: the one place where adapters are chosen and wired.

Distributed (no overrides): Postgres (`suggest` schema, Alembic), Redis answer cache, the tasks
API over HTTP at TASKFLOW_TASKS_URL, JWKS from the OIDC issuer, the AMQP bus in `consume`.
Embedded (the composition root passes `bus`, `jwks`, optionally `tasks_app`): the embedded
PostgreSQL (the same schema and migrations), an in-memory cache, the in-process bus (the
consumer runs inside the app), the tasks app in-process.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from openai import AsyncOpenAI
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from taskflow_common.auth import JwtVerifier, static_jwks_source
from taskflow_common.health import ReadinessCheck
from taskflow_common.messaging import EventBus
from taskflow_common.process import verifier_from_settings
from taskflow_common.web import BearerAuth
from taskflow_suggest.application.handlers import SuggestDeps
from taskflow_suggest.application.ports import PriorityModel, SuggestionRepository
from taskflow_suggest.config import Settings
from taskflow_suggest.infrastructure.db.engine import make_engine
from taskflow_suggest.infrastructure.db.migrate import upgrade_async
from taskflow_suggest.infrastructure.db.repository import PgSuggestionRepository
from taskflow_suggest.infrastructure.llm.breaker import BreakerGuardedModel, CircuitBreaker
from taskflow_suggest.infrastructure.llm.cache import (
    AnswerCache,
    CachedModel,
    MemoryAnswerCache,
    RedisAnswerCache,
)
from taskflow_suggest.infrastructure.llm.openai_provider import OpenAICompatibleModel
from taskflow_suggest.infrastructure.tasks_api import HttpTasksClient
from taskflow_suggest.interfaces.amqp.consumer import subscribe_task_events
from taskflow_suggest.interfaces.http.app import build_http_app

log = logging.getLogger(__name__)

JwksDocument = Mapping[str, Any]


@dataclass
class Container:
    """Everything a suggest process holds; built without I/O, started and closed explicitly."""

    settings: Settings
    engine: AsyncEngine
    tasks: HttpTasksClient
    deps: SuggestDeps
    redis: Redis[bytes] | None = None
    bus: EventBus | None = None
    owns_bus: bool = False
    breaker: CircuitBreaker | None = None
    closers: list[Any] = field(default_factory=list)

    async def start(self) -> None:
        await upgrade_async(self.settings.database_url)

    async def close(self) -> None:
        await self.tasks.close()
        if self.redis is not None:
            await self.redis.aclose()  # type: ignore[attr-defined]  # stubs lag redis 5+
        if self.owns_bus and self.bus is not None:
            await self.bus.close()
        for closer in self.closers:
            await closer()
        await self.engine.dispose()

    def readiness_checks(self) -> list[ReadinessCheck]:
        async def database() -> None:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        checks = [ReadinessCheck("database", database)]
        if self.redis is not None:
            redis = self.redis

            async def cache() -> None:
                await redis.ping()

            checks.append(ReadinessCheck("redis", cache))
        return checks


@dataclass(frozen=True)
class ModelChain:
    """cache → breaker → OpenAI-compatible provider, and the parts a process must close."""

    model: PriorityModel
    breaker: CircuitBreaker
    client: AsyncOpenAI


def build_model(settings: Settings, cache: AnswerCache) -> ModelChain | None:
    """None when no model is configured: the heuristic answers alone."""
    if not settings.llm_base_url:
        return None
    client = AsyncOpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value(),
        timeout=settings.llm_timeout_seconds,
        # Our own policy decides retries (one repair, then the heuristic): no hidden backoff
        # that would blow the latency budget on a 429 or 500.
        max_retries=0,
    )
    provider = OpenAICompatibleModel(
        client,
        settings.llm_model,
        timeout=settings.llm_timeout_seconds,
        structured=settings.llm_structured_output,
        system=settings.llm_system,
    )
    breaker = CircuitBreaker(
        failure_threshold=settings.llm_breaker_failures,
        reset_after=settings.llm_breaker_reset_seconds,
    )
    guarded = BreakerGuardedModel(provider, breaker)
    model: PriorityModel = guarded
    if settings.llm_cache_ttl_seconds > 0:
        model = CachedModel(guarded, cache, settings.llm_cache_ttl_seconds)
    return ModelChain(model, breaker, client)


def build_repository(
    settings: Settings, engine: AsyncEngine
) -> tuple[SuggestionRepository, Callable[[], Awaitable[None]]]:
    """The repository and what closes it: the event consumer's hot statement runs on its own
    asyncpg pool (ADR 0406; opened on first use, so `serve` opens none)."""
    repository = PgSuggestionRepository(engine, settings.database_url)
    return repository, repository.close


def build_container(
    settings: Settings,
    *,
    bus: EventBus | None = None,
    tasks_app: ASGIApp | None = None,
    pre_ping: bool = True,
) -> Container:
    engine = make_engine(settings.database_url, pre_ping=pre_ping)
    timeout = httpx.Timeout(settings.tasks_timeout_seconds)
    if tasks_app is not None:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=tasks_app), base_url="http://tasks", timeout=timeout
        )
    else:
        http = httpx.AsyncClient(base_url=settings.tasks_url, timeout=timeout)
    tasks = HttpTasksClient(http)
    redis: Redis[bytes] | None = None
    cache: AnswerCache
    if settings.mode == "distributed" and settings.redis_url:
        redis = Redis.from_url(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        cache = RedisAnswerCache(redis)
    else:
        cache = MemoryAnswerCache()
    chain = build_model(settings, cache)
    repository, close_repository = build_repository(settings, engine)
    deps = SuggestDeps(
        repository=repository,
        tasks=tasks,
        writer=tasks,
        model=chain.model if chain else None,
        bus=bus,
        # The provider enforces llm_timeout itself; this outer bound is a safety net.
        model_timeout=settings.llm_timeout_seconds + 1.0,
    )
    container = Container(settings, engine, tasks, deps, redis=redis, bus=bus)
    if chain is not None:
        container.breaker = chain.breaker
        container.closers.append(chain.client.close)
    container.closers.append(close_repository)
    return container


def build_verifier(settings: Settings, jwks: Any = None) -> JwtVerifier:
    return verifier_from_settings(
        settings, jwks=static_jwks_source(jwks) if jwks is not None else None
    )


def create_app(
    settings: Settings | None = None,
    *,
    bus: EventBus | None = None,
    jwks: Any = None,
    tasks_app: ASGIApp | None = None,
) -> FastAPI:
    """The suggest HTTP app. With `bus` (embedded), the task-event consumer runs inside it."""
    settings = settings or Settings()
    container = build_container(settings, bus=bus, tasks_app=tasks_app)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        if bus is not None:
            await subscribe_task_events(bus, container.deps, settings.consumer_name)
        try:
            yield
        finally:
            await container.close()

    app: FastAPI = build_http_app(
        deps=container.deps,
        auth=BearerAuth(build_verifier(settings, jwks)),
        checks=container.readiness_checks,
        lifespan=lifespan,
        admin_role=settings.admin_role,
    )
    app.state.container = container
    _instrument(app)
    return app


def _instrument(app: FastAPI) -> None:
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    except ImportError:  # the instrumentation is optional; spans then start at our code
        return
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")


async def run_consumer(settings: Settings, *, bus: EventBus | None = None) -> Container:
    """The `consume` role: the AMQP consumer of task events (returns the started container)."""
    if bus is None:
        from taskflow_common.messaging.amqp import AmqpEventBus

        bus = AmqpEventBus(settings.amqp_url)
        owns_bus = True
    else:
        owns_bus = False
    container = build_container(settings, bus=bus, pre_ping=False)
    container.owns_bus = owns_bus
    await container.start()
    await bus.start()
    await subscribe_task_events(bus, container.deps, settings.consumer_name)
    return container
