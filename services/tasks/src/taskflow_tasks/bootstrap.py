"""The composition root: the one place where adapters are chosen and wired.

`create_app(settings, bus=..., jwks=...)` serves the API. The embedded mode passes its
in-process bus and development JWKS; without them the distributed adapters are built from
settings (AMQP bus, Keycloak JWKS over HTTP). Nothing here connects at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from taskflow_common.auth import (
    JwksSource,
    JwtVerifier,
)
from taskflow_common.health import ReadinessCheck
from taskflow_common.messaging import EventBus
from taskflow_common.process import serve_metrics, verifier_from_settings
from taskflow_common.web import BearerAuth, install_unavailable_handler
from taskflow_tasks.application.deps import Deps
from taskflow_tasks.application.handlers import CommandBus
from taskflow_tasks.config import Settings
from taskflow_tasks.infrastructure.db import migrate
from taskflow_tasks.infrastructure.db.admin_queries import PgAdminTaskQueries
from taskflow_tasks.infrastructure.db.pg_pool import PgPool
from taskflow_tasks.infrastructure.db.queries import PgProjectQueries, PgTaskQueries
from taskflow_tasks.infrastructure.db.unavailable import DATABASE_UNAVAILABLE
from taskflow_tasks.infrastructure.db.uow import PgUnitOfWork
from taskflow_tasks.infrastructure.metrics import GaugeRefresher
from taskflow_tasks.infrastructure.outbox import OutboxRelay, OutboxWaker, listen_for_commits
from taskflow_tasks.infrastructure.scheduler import ReminderScheduler
from taskflow_tasks.interfaces.http.app import build_api
from taskflow_tasks.interfaces.http.deps import ApiContext

log = logging.getLogger(__name__)


@dataclass
class Database:
    """The process's asyncpg pool (reads, commands, scheduler, relay, gauges) and the waker a
    commit that wrote events pulls, so an in-process relay publishes at once."""

    pg: PgPool
    waker: OutboxWaker

    def uow(self) -> PgUnitOfWork:
        return PgUnitOfWork(self.pg, after_commit=self.waker.wake)

    async def close(self) -> None:
        await self.pg.close()


def build_database(settings: Settings) -> Database:
    return Database(PgPool(settings.database_url, size=settings.db_pool_size), OutboxWaker())


def build_bus(settings: Settings) -> EventBus:
    from taskflow_common.messaging.amqp import AmqpEventBus

    return AmqpEventBus(settings.amqp_url)


def build_verifier(settings: Settings, jwks: JwksSource | None) -> JwtVerifier:
    return verifier_from_settings(settings, jwks=jwks)


def build_relay(settings: Settings, db: Database, bus: EventBus) -> OutboxRelay:
    return OutboxRelay(
        db.pg,
        bus,
        batch_size=settings.relay_batch_size,
        poll_seconds=settings.relay_poll_seconds,
        waker=db.waker,
    )


def build_scheduler(settings: Settings, db: Database) -> ReminderScheduler:
    return ReminderScheduler(
        db.uow,
        batch_size=settings.relay_batch_size,
        poll_seconds=settings.scheduler_poll_seconds,
        idempotency_ttl=timedelta(hours=settings.idempotency_ttl_hours),
    )


def create_app(
    settings: Settings | None = None,
    *,
    bus: EventBus | None = None,
    jwks: JwksSource | None = None,
) -> FastAPI:
    settings = settings or Settings()
    db = build_database(settings)
    own_bus = bus is None and settings.background_workers
    event_bus = bus if bus is not None else (build_bus(settings) if own_bus else None)

    async def database_ready() -> None:
        await (await db.pg.pool()).fetchval("SELECT 1")

    def readiness() -> list[ReadinessCheck]:
        checks = [ReadinessCheck("database", database_ready)]
        if event_bus is not None and settings.background_workers:

            async def bus_ready() -> None:
                assert event_bus is not None
                if not await event_bus.is_healthy():
                    raise ConnectionError("event bus is not connected")

            checks.append(ReadinessCheck("event-bus", bus_ready))
        return checks

    context = ApiContext(
        commands=CommandBus(Deps(uow=db.uow)),
        tasks=PgTaskQueries(db.pg),
        projects=PgProjectQueries(db.pg),
        auth=BearerAuth(build_verifier(settings, jwks)),
        readiness=readiness,
        refresh_gauges=GaugeRefresher(db.pg, settings.gauge_refresh_seconds),
        admin_tasks=PgAdminTaskQueries(db.pg),
        export_max_tasks=settings.export_max_tasks,
        admin_role=settings.admin_role,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await migrate.upgrade_database(settings.database_url)
        workers: list[asyncio.Task[None]] = []
        stop = asyncio.Event()
        if settings.background_workers and event_bus is not None:
            if own_bus:
                await event_bus.start()
            relay = build_relay(settings, db, event_bus)
            workers.append(asyncio.create_task(relay.run_forever(stop), name="tasks-relay"))
            scheduler = build_scheduler(settings, db)
            workers.append(asyncio.create_task(scheduler.run_forever(stop), name="tasks-scheduler"))
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # GC's generations, so collections triggered by per-request garbage stay cheap.
        gc.freeze()
        try:
            yield
        finally:
            stop.set()
            db.waker.wake()
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if own_bus and event_bus is not None:
                await event_bus.close()
            await db.close()

    app = build_api(context, lifespan)
    install_unavailable_handler(app, DATABASE_UNAVAILABLE, dependency="database")
    return app


async def _run_worker(
    settings: Settings,
    make: Callable[[Database, EventBus | None], OutboxRelay | ReminderScheduler],
    needs_bus: bool,
) -> None:
    serve_metrics(settings.metrics_port, settings.host)
    db = build_database(settings)
    bus = build_bus(settings) if needs_bus else None
    listener: asyncio.Task[None] | None = None
    try:
        if settings.auto_migrate:
            await migrate.upgrade_database(settings.database_url)
        if bus is not None:
            await _start_bus_with_retry(bus)
            listener = asyncio.create_task(listen_for_commits(settings.database_url, db.waker))
        await make(db, bus).run_forever()
    finally:
        if listener is not None:
            listener.cancel()
        if bus is not None:
            await bus.close()
        await db.close()


async def _start_bus_with_retry(bus: EventBus) -> None:
    delay = 1.0
    while True:
        try:
            await bus.start()
            return
        except Exception as exc:  # broker not up yet: a relay waits rather than crash-looping
            log.warning("event bus unavailable, retrying", extra={"error": repr(exc)[:300]})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


async def run_relay(settings: Settings | None = None) -> None:
    settings = settings or Settings()

    def make(db: Database, bus: EventBus | None) -> OutboxRelay:
        assert bus is not None
        return build_relay(settings, db, bus)

    await _run_worker(settings, make, needs_bus=True)


async def run_scheduler(settings: Settings | None = None) -> None:
    settings = settings or Settings()
    await _run_worker(settings, lambda db, _bus: build_scheduler(settings, db), needs_bus=False)
