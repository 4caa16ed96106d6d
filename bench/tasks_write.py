"""CPU per task update: the tasks write path on SQLAlchemy Core (a) vs straight asyncpg (b).

One process, one throwaway Postgres database, two builds of the tasks app: (a) with the
commands' unit of work on SQLAlchemy (`SqlUnitOfWork`, the write path before ADR 107) and (b)
as bootstrap wires it (`PgUnitOfWork`). Everything else is the same code: the JWT check,
FastAPI, the handler, tracing on without an exporter. Measured with time.process_time:

- PATCH /api/v1/tasks/{id} (a title change, the commonest write) sent straight into each ASGI
  app: no HTTP client or sockets, so the CPU counted is the app's;
- the UpdateTask command alone (CommandBus.handle), i.e. handler plus unit of work.

a and b alternate (order flipped each round) so the shared machine's load hits both alike;
prints the median CPU per update of each and b/a.

  uv run python bench/tasks_write.py [--requests 400] [--rounds 6]

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

import asyncpg
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from taskflow_tasks.application import commands as c
from taskflow_tasks.application.deps import Deps
from taskflow_tasks.application.handlers import CommandBus
from taskflow_tasks.bootstrap import Database, create_app
from taskflow_tasks.config import Settings
from taskflow_tasks.infrastructure.db import migrate
from taskflow_tasks.infrastructure.db.engine import create_engine
from taskflow_tasks.infrastructure.db.pg_pool import PgPool
from taskflow_tasks.infrastructure.outbox import OutboxWaker

ADMIN_URL = os.environ.get(
    "TASKFLOW_TEST_DATABASE_URL", "postgresql://taskflow:taskflow@127.0.0.1:55432/taskflow"
)
ISSUER = "http://127.0.0.1/bench-issuer"
AUDIENCE = "taskflow-api"
KID = "bench-key"
USER = "bench-writer"


async def create_database() -> tuple[str, str]:
    name = f"taskflow_tasks_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" OWNER taskflow')
    finally:
        await admin.close()
    return name, ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def signing() -> tuple[dict[str, Any], str]:
    """A JWKS document and a token it verifies."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update(kid=KID, use="sig", alg="RS256")
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": USER, "iat": now, "exp": now + 3600}
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})
    return {"keys": [public]}, token


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


async def main(requests: int, rounds: int) -> None:
    os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)  # spans are made, not exported
    name, url = await create_database()
    engine = create_engine(url)
    jwks, token = signing()
    settings = Settings(
        env="test",
        database_url=url,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        auto_migrate=False,
        gauge_refresh_seconds=0,
        log_level="WARNING",
    )
    try:
        await migrate.upgrade(engine)
        pg = PgPool(url, size=2)
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
            results: dict[str, dict[str, list[float]]] = {
                case: {"a": [], "b": []} for case in cases
            }
            for round_ in range(rounds):
                order = ("a", "b") if round_ % 2 == 0 else ("b", "a")
                for case, make in cases.items():
                    for side in order:
                        results[case][side].append(await cpu_per_call(make(side), requests))
        await pg.close()
    finally:
        await engine.dispose()
        await drop_database(name)

    print(f"{requests} updates x {rounds} rounds per side, CPU ms per update (median, min-max)")
    print(f"{'case':<22} {'a SQLAlchemy':>20} {'b asyncpg':>20} {'b/a':>6}")
    for case, sides in results.items():
        a, b = statistics.median(sides["a"]), statistics.median(sides["b"])
        cells = [
            f"{statistics.median(v):.3f} ({min(v):.2f}-{max(v):.2f})"
            for v in (sides["a"], sides["b"])
        ]
        print(f"{case:<22} {cells[0]:>20} {cells[1]:>20} {b / a:>6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
