"""Task updates through the API, fanned out to WebSocket clients through the gateway.

Drives the running distributed suite (`scripts/suite up`; every service its own process,
Keycloak tokens, Postgres, the outbox relay, RabbitMQ, notify's consumer, Redis pub/sub,
notify's ASGI app, the gateway's WebSocket proxy). Clients connect to
ws://127.0.0.1:8080/ws/notifications; an open-loop generator PATCHes tasks through
http://127.0.0.1:8080/api/v1/tasks at a fixed rate; every client must receive a `task.changed`
frame for every update of its user's tasks.

Prints offered/achieved update rates, delivered/expected frames and the event-to-frame latency
p50/p95/p99: from the event's `occurred_at` (stamped by the tasks service inside the committing
transaction) to the frame's arrival at the client. Also the API round trip, for scale.

    uv run python bench/notify_ws_fanout.py                      # steady: 200 clients, 100/s, 30 s
    uv run python bench/notify_ws_fanout.py --burst              # 1,000 clients, 2,000/s, 5 s
    uv run python bench/notify_ws_fanout.py --clients 50 --rate 20 --seconds 5   # smoke

Targets (2 cores, from the issue): 100 % delivered in both runs; p99 <= 50 ms steady.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import json
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
import proc_cpu
import uvloop
import websockets
import yarl

from taskflow_common.testing import KeycloakRealm
from taskflow_common.testing.stack import AMQP_URL

GATEWAY = "http://127.0.0.1:8080"
EVENTS_EXCHANGE = "taskflow.events"


@dataclass
class Client:
    user: int
    received: set[tuple[str, int]] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    closed: str | None = None


@dataclass
class Load:
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    round_trips: list[float] = field(default_factory=list)
    # (task id, version) -> user index, for every update the API acknowledged
    updates: dict[tuple[str, int], int] = field(default_factory=dict)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


async def listen(url: str, token: str, client: Client, ready: asyncio.Event) -> None:
    try:
        async with websockets.connect(
            url, subprotocols=["bearer", token], max_queue=None, open_timeout=60, ping_interval=None
        ) as ws:
            ready.set()
            async for raw in ws:
                arrived = time.time()
                frame = json.loads(raw)
                if frame.get("type") != "task.changed" or frame.get("change") != "updated":
                    continue
                task = frame["task"]
                client.received.add((task["id"], int(task["version"])))
                occurred = frame.get("occurred_at")
                if occurred:
                    client.latencies.append(arrived - datetime.fromisoformat(occurred).timestamp())
    except (OSError, websockets.exceptions.WebSocketException) as exc:
        client.closed = f"{type(exc).__name__}: {exc}"[:120]
        ready.set()


async def update(
    http: aiohttp.ClientSession, token: str, task_id: str, n: int, user: int, load: Load
) -> None:
    started = time.perf_counter()
    load.sent += 1
    try:
        async with http.patch(
            f"/api/v1/tasks/{task_id}",
            json={"title": f"update {n}"},
            headers={"authorization": f"Bearer {token}"},
        ) as response:
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        load.errors[type(exc).__name__] += 1
        return
    load.round_trips.append(time.perf_counter() - started)
    if response.status != 200:
        load.errors[str(response.status)] += 1
        return
    load.ok += 1
    load.updates[(task_id, int(json.loads(body)["version"]))] = user


async def update_batch(
    http: aiohttp.ClientSession,
    token: str,
    task_ids: list[str],
    n: int,
    user: int,
    load: Load,
) -> None:
    """One POST /api/v1/tasks/batch renaming each of `task_ids` (one transaction, an event each)."""
    started = time.perf_counter()
    load.sent += len(task_ids)
    operations = [
        {"op": "update", "id": task_id, "patch": {"title": f"update {n}.{i}"}}
        for i, task_id in enumerate(task_ids)
    ]
    try:
        async with http.post(
            "/api/v1/tasks/batch",
            json={"operations": operations},
            headers={"authorization": f"Bearer {token}"},
        ) as response:
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        load.errors[type(exc).__name__] += len(task_ids)
        return
    load.round_trips.append(time.perf_counter() - started)
    if response.status != 200:
        load.errors[str(response.status)] += len(task_ids)
        return
    for result in json.loads(body)["results"]:
        load.ok += 1
        load.updates[(result["id"], int(result["task"]["version"]))] = user


class AmqpSource:
    """Publishes `tasks.task.updated.v1` events straight into notify's queue (no tasks API).

    Isolates notify's own fan-out (consumer, Redis pub/sub, ASGI app, gateway WebSocket hop);
    only notify's consumer gets them (the default exchange, routed to its queue by name).
    """

    def __init__(self, user_ids: list[str]) -> None:
        self.user_ids = user_ids
        self.versions: dict[str, int] = defaultdict(int)

    async def __aenter__(self) -> AmqpSource:
        import aio_pika

        self._connection = await aio_pika.connect(AMQP_URL)
        self._channel = await self._connection.channel(publisher_confirms=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()

    async def update(self, task_id: str, n: int, user: int, load: Load) -> None:
        import aio_pika

        from taskflow_common.events.contracts.tasks import TaskSnapshotV1, TaskUpdatedV1
        from taskflow_common.events.envelope import new_envelope

        self.versions[task_id] += 1
        version = self.versions[task_id]
        now = datetime.now(UTC)
        task = TaskSnapshotV1(
            id=task_id,
            owner_id=self.user_ids[user],
            title=f"update {n}",
            status="todo",
            priority="low",
            version=version,
            created_at=now,
            updated_at=now,
        )
        envelope = new_envelope(
            TaskUpdatedV1(task=task, changed_fields=["title"]), subject=self.user_ids[user]
        )
        started = time.perf_counter()
        load.sent += 1
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                envelope.to_json(),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key="taskflow.notify",
        )
        load.round_trips.append(time.perf_counter() - started)
        load.ok += 1
        load.updates[(task_id, version)] = user


async def offer_open_loop(
    send: Callable[[int], Awaitable[None]],
    *,
    requests: int,
    per_second: float,
    concurrency: int,
    queue: bool,
) -> tuple[int, float, float]:
    """Start `send(n)` for each of `requests` at a fixed rate, at most `concurrency` in flight.

    Open loop: when that many are in flight a request is skipped (and counted), so a saturated
    system cannot stretch the run; with `queue` (the burst) it waits for a slot instead.
    Returns (skipped requests, seconds spent offering, seconds until every one finished).
    """
    in_flight: set[asyncio.Task[None]] = set()
    skipped = 0
    began = time.perf_counter()
    for n in range(requests):
        delay = began + n / per_second - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(in_flight) >= concurrency:
            if not queue:
                skipped += 1
                continue
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        t = asyncio.create_task(send(n))
        in_flight.add(t)
        t.add_done_callback(in_flight.discard)
    offered_for = time.perf_counter() - began
    await asyncio.gather(*in_flight)
    return skipped, offered_for, time.perf_counter() - began


def offer_over_amqp(
    user_ids: list[str],
    tasks_of: list[list[str]],
    rate: float,
    seconds: float,
    concurrency: int,
    queue: bool,
) -> tuple[Load, int, float, float]:
    """The amqp source's generator, run in a process of its own (see `run`)."""

    async def offer() -> tuple[Load, int, float, float]:
        load = Load()
        source = await AmqpSource(user_ids).__aenter__()

        async def send(n: int) -> None:
            user = n % len(user_ids)
            task_id = tasks_of[user][(n // len(user_ids)) % len(tasks_of[user])]
            await source.update(task_id, n, user, load)

        skipped, offered_for, confirmed_for = await offer_open_loop(
            send,
            requests=int(rate * seconds),
            per_second=rate,
            concurrency=concurrency,
            queue=queue,
        )
        await source.__aexit__()
        return load, skipped, offered_for, confirmed_for

    return uvloop.run(offer())


def rabbitmq_management() -> tuple[yarl.URL, dict[str, str]]:
    """The management API's base URL and its basic-auth header."""
    url = yarl.URL(os.environ.get("TASKFLOW_RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672/"))
    login = f"{url.user or 'guest'}:{url.password or 'guest'}".encode()
    return url.with_user(None), {"authorization": "Basic " + base64.b64encode(login).decode()}


async def refuse_stray_queues(http: aiohttp.ClientSession) -> None:
    """Stop if a queue nobody consumes is bound to the events exchange.

    Such a queue (left by an interrupted test run, or a forgotten experiment) takes a copy of
    every event: quorum-queue work for the broker that is not the system's. Two of them once
    held 210,000 messages each and cost ~0.4 ms of RabbitMQ CPU per update in these runs.
    """
    url, headers = rabbitmq_management()
    async with http.get(url / "api/queues", headers=headers) as answer:
        answer.raise_for_status()
        consumers = {q["name"]: q.get("consumers", 0) for q in await answer.json()}
    # The default vhost is "/", which the path must carry encoded.
    bindings_url = yarl.URL(
        f"{url}api/exchanges/%2F/{EVENTS_EXCHANGE}/bindings/source", encoded=True
    )
    async with http.get(bindings_url, headers=headers) as answer:
        answer.raise_for_status()
        bound = {b["destination"] for b in await answer.json() if b["destination_type"] == "queue"}
    stray = sorted(name for name in bound if consumers.get(name, 0) == 0)
    if stray:
        raise SystemExit(
            f"queues bound to {EVENTS_EXCHANGE} with no consumer would take a copy of every "
            f"event: {', '.join(stray)}; delete them (rabbitmqadmin delete queue name=NAME, or "
            "DELETE /api/queues/%2F/NAME on the management API) and run again"
        )


async def wait_for_drained_queues(http: aiohttp.ClientSession, limit: float = 120.0) -> None:
    """Until every consumed RabbitMQ queue is empty, nothing unacknowledged, twice in a row."""
    url, headers = rabbitmq_management()
    deadline = time.monotonic() + limit
    quiet = 0
    while quiet < 2:
        if time.monotonic() > deadline:
            raise SystemExit(f"RabbitMQ queues still busy after {limit:.0f} s; is the suite up?")
        async with http.get(url / "api/queues", headers=headers) as answer:
            answer.raise_for_status()
            queues = await answer.json()
        # Queues nobody consumes (dead letters, leftovers of test runs) never drain.
        busy = sum(
            q.get("messages", 0) + q.get("messages_unacknowledged", 0)
            for q in queues
            if q.get("consumers", 0) > 0
        )
        quiet = quiet + 1 if busy == 0 else 0
        await asyncio.sleep(0.5)


async def run(args: argparse.Namespace) -> int:
    async with aiohttp.ClientSession() as management:
        await refuse_stray_queues(management)
    realm = KeycloakRealm()
    print(f"creating {args.users} users in Keycloak ...", flush=True)
    users = await asyncio.gather(
        *(asyncio.to_thread(realm.create_user, "bench") for _ in range(args.users))
    )
    tokens = await asyncio.gather(*(asyncio.to_thread(realm.access_token, u) for u in users))
    # aiohttp rather than httpx: the load generator shares the 2 cores with the system under
    # test, and aiohttp spends a fraction of httpx's CPU per request.
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(GATEWAY, connector=connector, timeout=timeout) as http:
        tasks_of: list[list[str]] = []

        async def create_tasks(token: str) -> list[str]:
            mine = []
            for i in range(args.tasks_per_user):
                async with http.post(
                    "/api/v1/tasks",
                    json={"title": f"bench {i}"},
                    headers={"authorization": f"Bearer {token}"},
                ) as created:
                    created.raise_for_status()
                    mine.append((await created.json())["id"])
            return mine

        if args.source == "api":
            print(f"creating {args.users * args.tasks_per_user} tasks ...", flush=True)
            tasks_of = list(await asyncio.gather(*(create_tasks(token) for token in tokens)))

        if args.source == "amqp":
            tasks_of = [[str(uuid.uuid4()) for _ in range(args.tasks_per_user)] for _ in users]
        url = args.ws_base.rstrip("/") + "/ws/notifications"
        clients = [Client(user=i % args.users) for i in range(args.clients)]
        readies = [asyncio.Event() for _ in clients]
        print(f"connecting {args.clients} WebSocket clients through the gateway ...", flush=True)
        listeners = []
        for client, ready in zip(clients, readies, strict=True):
            listeners.append(asyncio.create_task(listen(url, tokens[client.user], client, ready)))
            await asyncio.sleep(0.002)  # a gentle ramp, not a thundering herd
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
        refused = [c.closed for c in clients if c.closed]
        if refused:
            print(f"{len(refused)} clients failed to connect, e.g. {refused[0]}", file=sys.stderr)
        # Setup wrote events (task creations) that the consumers may still be working through;
        # measuring on top of that backlog would charge it to the first updates.
        await wait_for_drained_queues(http)

        load = Load()
        total = int(args.rate * args.seconds)
        print(f"offering {args.rate}/s task updates for {args.seconds} s ({total}) ...", flush=True)
        cpu_before, machine_before = proc_cpu.snapshot(), proc_cpu.machine_busy_seconds()
        began = time.perf_counter()

        async def one(n: int) -> None:
            user = n % args.users
            if args.batch > 1:
                await update_batch(http, tokens[user], tasks_of[user][: args.batch], n, user, load)
                return
            task_id = tasks_of[user][(n // args.users) % args.tasks_per_user]
            await update(http, tokens[user], task_id, n, user, load)

        if args.source == "amqp":
            # The publisher gets a process (and a core) of its own: sharing one with a thousand
            # sockets it could not offer the burst's rate.
            with concurrent.futures.ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn")
            ) as pool:
                offered = await asyncio.get_running_loop().run_in_executor(
                    pool,
                    offer_over_amqp,
                    [u.id for u in users],
                    tasks_of,
                    args.rate,
                    args.seconds,
                    args.concurrency,
                    args.queue,
                )
            load, skipped, offered_for, load_time = offered
        else:
            skipped_requests, offered_for, load_time = await offer_open_loop(
                one,
                requests=total // args.batch,
                per_second=args.rate / args.batch,
                concurrency=args.concurrency,
                queue=args.queue,
            )
            skipped = skipped_requests * args.batch

        per_user = defaultdict(int)
        for client in clients:
            per_user[client.user] += 1
        wanted = sum(per_user[user] for user in load.updates.values())

        def delivered_now() -> int:
            return sum(1 for c in clients for key in c.received if key in load.updates)

        # Wait for stragglers: until everything arrived, or nothing new for `grace` seconds.
        last, last_change = -1, time.perf_counter()
        while time.perf_counter() - last_change < args.grace:
            now_delivered = delivered_now()
            if now_delivered >= wanted:
                break
            if now_delivered != last:
                last, last_change = now_delivered, time.perf_counter()
            await asyncio.sleep(0.5)
        cpu_after, machine_after = proc_cpu.snapshot(), proc_cpu.machine_busy_seconds()
        settled_after = time.perf_counter() - began
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)

    clients_of = defaultdict(list)
    for client in clients:
        clients_of[client.user].append(client)
    expected = sum(len(clients_of[user]) for user in load.updates.values())
    delivered = sum(
        1 for key, user in load.updates.items() for c in clients_of[user] if key in c.received
    )
    latencies = [x for c in clients for x in c.latencies]
    ms = [x * 1000 for x in latencies]
    rtt = [x * 1000 for x in load.round_trips]
    print()
    print(
        f"clients {args.clients} ({args.users} users), connected "
        f"{args.clients - len(refused)}, dropped during run "
        f"{sum(1 for c in clients if c.closed) - len(refused)}"
    )
    print(
        f"updates offered {total} at {args.rate}/s (admitted over {offered_for:.1f} s), "
        f"skipped (saturated) {skipped}, "
        f"acknowledged {load.ok} in {load_time:.1f} s = {load.ok / load_time:.0f}/s, "
        f"errors {dict(load.errors) or 0}"
    )
    print(
        f"frames delivered/expected {delivered}/{expected} = "
        f"{100 * delivered / max(expected, 1):.2f} %"
        f" (waited {settled_after:.1f} s from the first update)"
    )
    print(
        f"event-to-frame ms  p50 {percentile(ms, 50):.1f}  p95 {percentile(ms, 95):.1f}  "
        f"p99 {percentile(ms, 99):.1f}  max {max(ms, default=float('nan')):.1f}  "
        f"(n={len(ms)})"
    )
    what = "AMQP publish" if args.source == "amqp" else "API PATCH"
    if args.batch > 1:
        what = f"API batch of {args.batch}"
    print(
        f"{what} round trip ms  p50 {percentile(rtt, 50):.1f}  p99 {percentile(rtt, 99):.1f}"
        f"  mean {statistics.fmean(rtt) if rtt else float('nan'):.1f}"
    )
    print(proc_cpu.report(cpu_before, cpu_after, load.ok, (machine_before, machine_after)))
    return 0 if delivered == expected else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--tasks-per-user", type=int, default=5)
    parser.add_argument("--rate", type=float, default=100.0, help="updates per second offered")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=64, help="API requests in flight")
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="updates per request: >1 sends POST /api/v1/tasks/batch renaming that many tasks",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=5.0,
        help="stop waiting for stragglers after this long without progress",
    )
    parser.add_argument(
        "--source",
        choices=["api", "amqp"],
        default="api",
        help="api: PATCH through the gateway (end to end); amqp: events straight to notify",
    )
    parser.add_argument(
        "--ws-base",
        default=GATEWAY.replace("http://", "ws://"),
        help="where clients connect (ws://127.0.0.1:8003 skips the gateway hop)",
    )
    parser.add_argument(
        "--burst",
        action="store_true",
        help="the burst: 1,000 clients (50 users), 2,000 updates/s for 5 s, 20 per batch request",
    )
    parser.add_argument(
        "--queue",
        action="store_true",
        help="when --concurrency requests are in flight, wait for one instead of skipping",
    )
    args = parser.parse_args()
    if args.burst:
        args.clients, args.users, args.rate, args.seconds = 1000, 50, 2000.0, 5.0
        args.queue, args.grace = True, max(args.grace, 15.0)
        if args.source == "api":
            # Every update is offered; 16 batch requests in flight keep the API busy without
            # queueing requests past the gateway's upstream timeout.
            args.batch, args.tasks_per_user, args.concurrency = 20, 20, 16
        else:
            # Persistent messages on quorum queues confirm in tens of milliseconds under load:
            # 2,000/s needs hundreds of publishes awaiting their confirms.
            args.concurrency = 1000
    if args.batch > 1 and (args.source != "api" or args.batch > args.tasks_per_user):
        parser.error("--batch needs --source api and --tasks-per-user >= --batch")
    return uvloop.run(run(args))  # the bench's own CPU competes with the system's


if __name__ == "__main__":
    sys.exit(main())
