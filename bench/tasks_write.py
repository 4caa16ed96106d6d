"""CPU per task update and per relayed event: SQLAlchemy Core (a) vs straight asyncpg (b).

One process, one throwaway Postgres database, two builds of the tasks app: (a) with the
commands' unit of work on SQLAlchemy (`SqlUnitOfWork`, the write path before ADR 107) and (b)
as bootstrap wires it (`PgUnitOfWork`). Everything else is the same code: the JWT check,
FastAPI, the handler, tracing on without an exporter. Measured with time.process_time:

- PATCH /api/v1/tasks/{id} (a title change, the commonest write) sent straight into each ASGI
  app: no HTTP client or sockets, so the CPU counted is the app's;
- the UpdateTask command alone (CommandBus.handle), i.e. handler plus unit of work.

The outbox relay (ADR 105/107), with a bus that only counts what it is handed, so the CPU
counted is the relay's database part plus its per-row work (envelope validation, trace
context): (a) claims and settles with the SQLAlchemy Core statements it used before, kept
here as the baseline, on the engine in autocommit; (b) as bootstrap wires it, on the asyncpg
pool. Rows are written before each timed drain (not counted); cases: batches of one event
(what a relay mostly sees at 100 events/s), batches of 20, and an empty poll (claim only).

a and b alternate (order flipped each round) so the shared machine's load hits both alike;
prints the median CPU per update (or event, or poll) of each and b/a.

  uv run python bench/tasks_write.py [--requests 400] [--rounds 6] [--events 400]
                                     [--only write|relay]

Needs the local stack's Postgres (`scripts/stack up postgres`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from scratch_db import create_database, drop_database
from signing import AUDIENCE, ISSUER, jwks_and_token
from sqlalchemy import Update, any_, bindparam, delete, func, insert, null, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import Text, Uuid

from taskflow_common.ids import uuid7
from taskflow_tasks.application import commands as c
from taskflow_tasks.application.deps import Deps
from taskflow_tasks.application.handlers import CommandBus
from taskflow_tasks.bootstrap import Database, create_app
from taskflow_tasks.config import Settings
from taskflow_tasks.infrastructure.db import migrate
from taskflow_tasks.infrastructure.db import tables as t
from taskflow_tasks.infrastructure.db.engine import create_engine
from taskflow_tasks.infrastructure.db.pg_pool import PgPool
from taskflow_tasks.infrastructure.db.tables import UtcDateTime
from taskflow_tasks.infrastructure.outbox import Failure, OutboxRelay, OutboxWaker, PendingEvent

USER = "bench-writer"


def asgi_patch(app: Any, path: str, token: str) -> Callable[[bytes], Awaitable[int]]:
    """PATCH `path` with a body, straight into the ASGI app; returns the status code."""
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
        (b"host", b"tasks.bench"),
    ]

    async def patch(body: bytes) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "PATCH",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 40000),
            "server": ("tasks.bench", 80),
        }
        delivered = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    return patch


async def cpu_per_call(call: Callable[[int], Awaitable[None]], n: int) -> float:
    """Milliseconds of this process's CPU per call."""
    start = time.process_time()
    for i in range(n):
        await call(i)
    return (time.process_time() - start) * 1000 / n


# The relay's baseline: its claim and settle as the SQLAlchemy Core statements it ran before
# ADR 107's relay paragraph, same SQL, on the engine in autocommit.
OB = t.outbox
_ids = ARRAY(Uuid())


def _sqlalchemy_claim(batch_size: int, lease: timedelta) -> Update:
    claimable = (
        select(OB.c.id)
        .where(
            OB.c.sent_at.is_(None),
            or_(OB.c.claimed_until.is_(None), OB.c.claimed_until < func.now()),
        )
        .order_by(OB.c.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .cte("claimable")
    )
    return (
        update(OB)
        .where(OB.c.id == claimable.c.id)
        .values(claimed_until=func.now() + lease)
        .returning(
            OB.c.id,
            OB.c.payload,
            OB.c.traceparent,
            OB.c.tracestate,
            OB.c.created_at,
            OB.c.claimed_until,
        )
    )


def _sqlalchemy_settle(*, everything_sent: bool) -> Update:
    settle = update(OB).where(
        OB.c.id == any_(bindparam("held_ids", type_=_ids)),
        OB.c.claimed_until == bindparam("held_until", type_=UtcDateTime()),
    )
    sent_at = bindparam("sent_now", type_=UtcDateTime())
    if everything_sent:
        return settle.values(sent_at=sent_at, claimed_until=null())
    published = OB.c.id == any_(bindparam("sent_ids", type_=_ids))
    failed = OB.c.id == bindparam("failed_id", type_=Uuid())
    return settle.values(
        sent_at=sql_case((published, sent_at), else_=OB.c.sent_at),
        attempts=sql_case((failed, OB.c.attempts + 1), else_=OB.c.attempts),
        last_error=sql_case((failed, bindparam("error", type_=Text())), else_=OB.c.last_error),
        claimed_until=null(),
    )


_SA_SETTLE_ALL_SENT = _sqlalchemy_settle(everything_sent=True)
_SA_SETTLE_SOME = _sqlalchemy_settle(everything_sent=False)


class SqlAlchemyLeaseRelay(OutboxRelay):
    """The relay with its claim and settle on SQLAlchemy Core (a); publishing is shared."""

    def __init__(self, engine: AsyncEngine, bus: Any, pg: PgPool, batch_size: int) -> None:
        super().__init__(engine, bus, pg=pg, batch_size=batch_size)
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sa_claim = _sqlalchemy_claim(batch_size, timedelta(seconds=30))

    async def _claim(self, pg: PgPool) -> tuple[list[PendingEvent], datetime | None]:
        async with self._autocommit.connect() as conn:
            claimed = (await conn.execute(self._sa_claim)).all()
        if not claimed:
            return [], None
        rows = sorted(PendingEvent(*row[:5]) for row in claimed)
        return rows, claimed[0].claimed_until

    async def _settle(
        self,
        pg: PgPool,
        rows: Any,
        held_until: datetime | None,
        sent: list[UUID],
        failure: Failure | None,
    ) -> None:
        settle = _SA_SETTLE_ALL_SENT if len(sent) == len(rows) else _SA_SETTLE_SOME
        async with self._autocommit.connect() as conn:
            await conn.execute(
                settle,
                {
                    "held_ids": [row.id for row in rows],
                    "held_until": held_until,
                    "sent_ids": sent,
                    "sent_now": datetime.now(UTC),
                    "failed_id": failure[0] if failure else None,
                    "error": failure[1][:2000] if failure else None,
                },
            )


class CountingBus:
    """Takes every event at once: the relay's CPU without a broker's."""

    def __init__(self) -> None:
        self.published = 0

    async def publish(self, envelope: Any, headers: dict[str, str] | None = None) -> None:
        self.published += 1


async def write_outbox(engine: AsyncEngine, count: int) -> None:
    """`count` pending events shaped like a task update's (not timed)."""
    now = datetime.now(UTC)
    rows = []
    for _ in range(count):
        event_id = uuid7()
        payload = {
            "event_id": str(event_id),
            "event_type": "tasks.task_updated.v1",
            "schema_version": 1,
            "occurred_at": now.isoformat(),
            "producer": "tasks",
            "subject": USER,
            "data": {"task_id": str(uuid7()), "changes": {"title": "a new title"}},
        }
        rows.append(
            {
                "id": event_id,
                "event_type": payload["event_type"],
                "payload": payload,
                "traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01",
                "created_at": now,
                "attempts": 0,
            }
        )
    async with engine.begin() as conn:
        await conn.execute(insert(t.outbox), rows)


async def relay_cpu(engine: AsyncEngine, relay: OutboxRelay, events: int, batch: int) -> float:
    """Milliseconds of CPU per event for relaying `events` in cycles of `batch`; with
    batch 0, per empty poll (nothing pending: the claim alone)."""
    if batch == 0:
        start = time.process_time()
        for _ in range(events):
            assert await relay.run_once() == 0
        return (time.process_time() - start) * 1000 / events
    await write_outbox(engine, events)
    cycles = events // batch
    start = time.process_time()
    for _ in range(cycles):
        assert await relay.run_once() == batch
    spent = time.process_time() - start
    # A remainder smaller than a batch is relayed unmeasured, so the next case starts empty.
    assert await relay.run_once() == events - cycles * batch
    return spent * 1000 / (cycles * batch)


async def relay_bench(
    engine: AsyncEngine, pg: PgPool, events: int, rounds: int
) -> dict[str, dict[str, list[float]]]:
    cases = {"relay, batches of 1": 1, "relay, batches of 20": 20, "relay, empty poll": 0}
    # The write benchmark, when it ran first, left its PATCHes' events unrelayed; every case
    # here counts the rows it relays, so it starts from an empty outbox.
    async with engine.begin() as conn:
        await conn.execute(delete(t.outbox))
    relays: dict[str, dict[int, OutboxRelay]] = {"a": {}, "b": {}}
    for batch in {max(b, 1) for b in cases.values()}:
        bus: Any = CountingBus()  # all the relay calls of an EventBus is publish
        relays["a"][batch] = SqlAlchemyLeaseRelay(engine, bus, pg, batch)
        relays["b"][batch] = OutboxRelay(engine, bus, pg=pg, batch_size=batch)
    for batch in cases.values():  # warm-up: pools, prepared statements, caches
        for side in ("a", "b"):
            await relay_cpu(engine, relays[side][max(batch, 1)], 100, batch)
    results: dict[str, dict[str, list[float]]] = {case: {"a": [], "b": []} for case in cases}
    for round_ in range(rounds):
        order = ("a", "b") if round_ % 2 == 0 else ("b", "a")
        for case, batch in cases.items():
            for side in order:
                relay = relays[side][max(batch, 1)]
                results[case][side].append(await relay_cpu(engine, relay, events, batch))
    return results


def build_app(settings: Settings, jwks: dict[str, Any], on_sqlalchemy: bool) -> Any:
    if not on_sqlalchemy:
        return create_app(settings, jwks=lambda: jwks)
    # The composition root offers no switch back (Postgres means asyncpg): for the baseline,
    # its commands take the SQLAlchemy unit of work, as they did before ADR 107.
    original = Database.uow
    Database.uow = Database.sql_uow  # type: ignore[method-assign]
    try:
        return create_app(settings, jwks=lambda: jwks)
    finally:
        Database.uow = original  # type: ignore[method-assign]


async def write_bench(
    engine: AsyncEngine, pg: PgPool, url: str, requests: int, rounds: int
) -> dict[str, dict[str, list[float]]]:
    jwks, token = jwks_and_token(USER)
    settings = Settings(
        env="test",
        database_url=url,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        auto_migrate=False,
        gauge_refresh_seconds=0,
        log_level="WARNING",
    )
    dbs = {
        "a": Database(engine, None, OutboxWaker()),
        "b": Database(engine, None, OutboxWaker(), pg),
    }
    buses = {side: CommandBus(Deps(uow=db.uow)) for side, db in dbs.items()}
    due = datetime.now(UTC) + timedelta(days=3)
    values = {"title": "t", "due_at": due, "reminders": ["PT30M"], "labels": ["bench"]}
    task_ids: dict[str, UUID] = {}
    for key in ("a-http", "b-http", "a-command", "b-command"):
        created = await buses[key[0]].handle(c.CreateTask(USER, dict(values)))
        task_ids[key] = created.task.id
    async with AsyncExitStack() as stack:
        patches = {}
        for side in ("a", "b"):
            app = build_app(settings, jwks, on_sqlalchemy=side == "a")
            await stack.enter_async_context(app.router.lifespan_context(app))
            patches[side] = asgi_patch(app, f"/api/v1/tasks/{task_ids[f'{side}-http']}", token)

        def http_call(side: str) -> Callable[[int], Awaitable[None]]:
            async def call(i: int) -> None:
                status = await patches[side](json.dumps({"title": f"title {i}"}).encode())
                assert status == 200, status

            return call

        def command_call(side: str) -> Callable[[int], Awaitable[None]]:
            async def call(i: int) -> None:
                patch = {"title": f"title {i}"}
                await buses[side].handle(c.UpdateTask(USER, task_ids[f"{side}-command"], patch))

            return call

        cases = {"PATCH (ASGI app)": http_call, "UpdateTask command": command_call}
        for make in cases.values():  # warm-up: pools, prepared statements, caches
            for side in ("a", "b"):
                await cpu_per_call(make(side), 50)
        results: dict[str, dict[str, list[float]]] = {case: {"a": [], "b": []} for case in cases}
        for round_ in range(rounds):
            order = ("a", "b") if round_ % 2 == 0 else ("b", "a")
            for case, make in cases.items():
                for side in order:
                    results[case][side].append(await cpu_per_call(make(side), requests))
    return results


def report(title: str, results: dict[str, dict[str, list[float]]]) -> None:
    print(title)
    print(f"{'case':<22} {'a SQLAlchemy':>20} {'b asyncpg':>20} {'b/a':>6}")
    for case, sides in results.items():
        a, b = statistics.median(sides["a"]), statistics.median(sides["b"])
        cells = [
            f"{statistics.median(v):.3f} ({min(v):.2f}-{max(v):.2f})"
            for v in (sides["a"], sides["b"])
        ]
        print(f"{case:<22} {cells[0]:>20} {cells[1]:>20} {b / a:>6.2f}")


async def main(requests: int, rounds: int, events: int, only: str | None) -> None:
    os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)  # spans are made, not exported
    name, url = await create_database()
    engine = create_engine(url)
    written = relayed = None
    try:
        await migrate.upgrade(engine)
        pg = PgPool(url, size=2)
        try:
            if only != "relay":
                written = await write_bench(engine, pg, url, requests, rounds)
            if only != "write":
                relayed = await relay_bench(engine, pg, events, rounds)
        finally:
            await pg.close()
    finally:
        await engine.dispose()
        await drop_database(name)

    if written is not None:
        report(
            f"{requests} updates x {rounds} rounds per side, CPU ms per update, median (min-max)",
            written,
        )
    if relayed is not None:
        report(
            f"{events} events x {rounds} rounds per side, relay CPU ms per event (empty poll:"
            " per poll), median (min-max)",
            relayed,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--events", type=int, default=400, help="a multiple of 20")
    parser.add_argument("--only", choices=("write", "relay"))
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds, args.events, args.only))
