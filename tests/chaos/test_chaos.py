"""Chaos: task changes through the gateway while the stack's components are killed and restarted.

The CI profile (default, in `make test`) makes 400 changes and injects each fault once; the
full profile (`make test-chaos`, TASKFLOW_CHAOS_PROFILE=full) makes 5,000 changes while
RabbitMQ is killed twice, Postgres restarted, the Celery worker SIGKILLed three times, Redis
stopped for 20 s and the model endpoint hangs for 30 s. Afterwards every change must have made
exactly one notification for its recipient, reached the recipient's WebSocket exactly once
(across reconnects with `since=<sync token>`), and reached every project member's WebSocket as
exactly one live `task.changed` and Mailpit exactly once; the outbox and the dead-letter
queues are empty; and the API failed under 1% of requests apart from 503s while Postgres was down.

The run holds the stack lock exclusively and restores every component, whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from chaos_faults import (
    FaultLog,
    kill_rabbitmq,
    kill_worker,
    restart_postgres,
    restore_everything,
    stop_redis,
)
from chaos_load import MailCollector, Production, Seen, User, catch_up, listen, produce
from chaos_model import ModelServer

from taskflow_common.messaging.amqp import dead_letter_queue_name, queue_name
from taskflow_common.testing.suite import require_suite

pytestmark = pytest.mark.chaos

ROOT = Path(__file__).resolve().parents[2]
DATABASE = os.environ.get(
    "TASKFLOW_DATABASE_URL", "postgresql://taskflow:taskflow@127.0.0.1:55432/taskflow"
)
MANAGEMENT = "http://127.0.0.1:15672"
PRODUCERS = 4
RECIPIENTS = 3
DRAIN_SECONDS = 300


@dataclass(frozen=True)
class Profile:
    changes: int
    seconds: float  # how long production is spread over, so faults land mid-stream
    faults: tuple[tuple[str, Callable[[ModelServer], None]], ...]


def _faults(*names: str) -> tuple[tuple[str, Callable[[ModelServer], None]], ...]:
    actions: dict[str, Callable[[ModelServer], None]] = {
        "rabbitmq-kill": lambda _m: kill_rabbitmq(),
        "postgres-restart": lambda _m: restart_postgres(),
        "worker-kill": lambda _m: kill_worker(),
        "redis-stop-20s": lambda _m: stop_redis(20),
        "model-hang-30s": lambda m: m.hang(30),
    }
    return tuple((name, actions[name]) for name in names)


PROFILES = {
    "ci": Profile(
        400,
        90,
        _faults(
            "rabbitmq-kill", "worker-kill", "postgres-restart", "redis-stop-20s", "model-hang-30s"
        ),
    ),
    "full": Profile(
        5000,
        600,
        _faults(
            "rabbitmq-kill",
            "worker-kill",
            "postgres-restart",
            "worker-kill",
            "redis-stop-20s",
            "rabbitmq-kill",
            "model-hang-30s",
            "worker-kill",
        ),
    ),
}


@contextlib.contextmanager
def stack_lock() -> Iterator[None]:
    """Exclusive: other test runs share this stack and must not see it half down."""
    with open("/tmp/taskflow-stack.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _management() -> httpx.Client:
    return httpx.Client(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=10)


def dead_letters() -> dict[str, int]:
    with _management() as client:
        queues = client.get("/api/queues/%2F", params={"columns": "name,messages"}).json()
    return {q["name"]: int(q.get("messages", 0)) for q in queues if q["name"].endswith(".dlq")}


@contextlib.contextmanager
def model_consumer(model: ModelServer, consumer: str, logs: Path) -> Iterator[None]:
    """One more `suggest consume` (its own queue) whose model is the controllable endpoint: the
    suite's own consumers run on the heuristic alone."""
    env = {
        **os.environ,
        "TASKFLOW_MODE": "distributed",
        "TASKFLOW_CONSUMER_NAME": consumer,
        "TASKFLOW_LLM_BASE_URL": model.base_url,
        "TASKFLOW_LLM_MODEL": "chaos",
        "TASKFLOW_LLM_TIMEOUT_SECONDS": "2",
        "TASKFLOW_LLM_CACHE_TTL_SECONDS": "0",
        "OTEL_SDK_DISABLED": "true",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with logs.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "taskflow_suggest", "consume"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            with _management() as client:
                found = client.get(f"/api/queues/%2F/{queue_name(consumer)}")
            if found.status_code == 200 and found.json().get("consumers"):
                break
            assert process.poll() is None, logs.read_text()[-3000:]
            assert time.monotonic() < deadline, logs.read_text()[-3000:]
            time.sleep(0.5)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
        with contextlib.suppress(httpx.HTTPError), _management() as client:
            for name in (queue_name(consumer), dead_letter_queue_name(consumer)):
                client.delete(f"/api/queues/%2F/{name}")


class Listeners:
    """The recipients' WebSocket clients, on an event loop of their own."""

    def __init__(self, ws_url: str, users: list[User]) -> None:
        self.ws_url, self.users = ws_url, users
        self.seen = {u.id: Seen() for u in users}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.stop_event = asyncio.Event()
        self.running = [
            asyncio.run_coroutine_threadsafe(
                listen(ws_url, u, self.seen[u.id], self.stop_event), self.loop
            )
            for u in users
        ]
        deadline = time.monotonic() + 30
        while any(s.connects == 0 for s in self.seen.values()):
            assert time.monotonic() < deadline, "the WebSocket clients could not connect"
            time.sleep(0.1)

    def finish(self) -> None:
        """Stop listening, then reconnect once more with `since` to read what is left."""
        self.loop.call_soon_threadsafe(self.stop_event.set)
        for future in self.running:
            future.result(timeout=60)
        for user in self.users:
            asyncio.run_coroutine_threadsafe(
                catch_up(self.ws_url, user, self.seen[user.id]), self.loop
            ).result(timeout=120)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _setup(gateway: str, tag: str) -> tuple[User, list[User], str]:
    actor = User(gateway, f"chaos-{tag}-actor")
    recipients = [User(gateway, f"chaos-{tag}-r{i}") for i in range(RECIPIENTS)]
    headers = {"authorization": f"Bearer {actor.token()}"}
    with httpx.Client(base_url=gateway, timeout=30) as client:
        project = client.post("/api/v1/projects", json={"name": f"chaos {tag}"}, headers=headers)
        assert project.status_code == 201, project.text
        project_id = project.json()["id"]
        for user in recipients:
            added = client.post(
                f"/api/v1/projects/{project_id}/members",
                json={"user_id": user.id, "role": "editor"},
                headers=headers,
            )
            assert added.status_code in (200, 201), added.text
    return actor, recipients, project_id


def _run_faults(profile: Profile, model: ModelServer, production: Production, log: FaultLog):
    """Each fault when production has gone that far (faults spread evenly over the changes)."""
    for k, (name, action) in enumerate(profile.faults, start=1):
        threshold = profile.changes * k // (len(profile.faults) + 1)
        while production.produced + production.given_up < threshold:
            time.sleep(0.2)
        log.during(name, lambda action=action: action(model))


def _query(sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(DATABASE, connect_timeout=10) as conn:
        return list(conn.execute(sql, params).fetchall())


def _state(task_ids: list[str]) -> dict[str, object]:
    notifications = _query(
        "SELECT data->>'task_id', user_id, count(*) FROM notify.notify_notification"
        " WHERE kind = 'task_assigned' AND data->>'task_id' = ANY(%s) GROUP BY 1, 2",
        task_ids,
    )
    deliveries = _query(
        "SELECT d.status, count(*) FROM notify.notify_delivery d"
        " JOIN notify.notify_notification n ON n.seq = d.notification_id"
        " WHERE n.kind = 'task_assigned' AND n.data->>'task_id' = ANY(%s) GROUP BY 1",
        task_ids,
    )
    pending_outbox = _query("SELECT count(*) FROM tasks.outbox WHERE sent_at IS NULL")[0][0]
    return {
        "notifications": {(t, u): c for t, u, c in notifications},
        "deliveries": dict(deliveries),
        "outbox": pending_outbox,
    }


def _drain(production: Production, mail: MailCollector) -> dict[str, object]:
    """Until every change is delivered everywhere (or the drain time is up)."""
    task_ids = list(production.tasks)
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        state = _state(task_ids)
        mail.poll()
        done = (
            len(state["notifications"]) >= len(task_ids)  # type: ignore[arg-type]
            and not state["deliveries"].get("pending")  # type: ignore[attr-defined]
            and state["outbox"] == 0
            and mail.count() >= len(task_ids)
        )
        if done or time.monotonic() > deadline:
            return state
        time.sleep(2)


# The full profile's production alone is spread over 10 minutes (the root default is 300 s).
@pytest.mark.timeout(1800)
def test_every_change_is_delivered_exactly_once_through_the_faults(tmp_path: Path) -> None:
    profile = PROFILES[os.environ.get("TASKFLOW_CHAOS_PROFILE", "ci")]
    gateway = require_suite()
    tag = secrets.token_hex(3)
    with stack_lock():
        dlq_before = dead_letters()
        actor, recipients, project_id = _setup(gateway, tag)
        model = ModelServer().start()
        production, faults = Production(), FaultLog()
        started = time.time()
        try:
            with model_consumer(model, f"chaos-{tag}", tmp_path / "suggest-consumer.log"):
                listeners = Listeners(
                    gateway.replace("http", "ws", 1) + "/ws/notifications", recipients
                )
                mail = MailCollector(recipients).start()
                pace = PRODUCERS * profile.seconds / profile.changes
                producers = [
                    threading.Thread(
                        target=produce,
                        args=(
                            gateway,
                            actor,
                            project_id,
                            recipients,
                            tag,
                            range(p, profile.changes, PRODUCERS),
                            production,
                            pace,
                        ),
                    )
                    for p in range(PRODUCERS)
                ]
                for thread in producers:
                    thread.start()
                try:
                    _run_faults(profile, model, production, faults)
                finally:
                    for thread in producers:
                        thread.join()
                produced_at = time.time()
                state = _drain(production, mail)
                drained_at = time.time()
                listeners.finish()
                mail.stop()
        finally:
            model.stop()
            restore_everything()
        dlq_after = dead_letters()

    report = _report(
        profile,
        project_id,
        production,
        faults,
        state,
        listeners,
        mail,
        model,
        (dlq_before, dlq_after),
    )
    print(
        f"\n[chaos] production {produced_at - started:.0f} s,"
        f" drain {drained_at - produced_at:.0f} s"
    )
    print("\n".join(report.lines))
    assert not report.problems, "\n".join(report.problems)


@dataclass
class Report:
    lines: list[str]
    problems: list[str]


POSTGRES_GRACE = 15.0  # pools notice a restarted database on their next checkout


def _errors(production: Production, faults: FaultLog) -> tuple[list[str], list[str]]:
    statuses: Counter[str] = Counter()
    unexcused = server_errors = 0
    for a in production.attempts:
        statuses[str(a.status)] += 1
        if a.status in (200, 201):
            continue
        if a.status == 503 and faults.overlaps(
            "postgres-restart", a.started, a.ended, POSTGRES_GRACE
        ):
            continue
        unexcused += 1
        server_errors += a.status == 500
    total = len(production.attempts)
    rate = unexcused / total if total else 0.0
    lines = [
        f"requests {total}: {dict(sorted(statuses.items()))};"
        f" failed outside the Postgres restart {unexcused} ({rate:.2%})"
    ]
    problems = []
    if server_errors:
        problems.append(f"{server_errors} requests answered 500")
    if rate >= 0.01:
        problems.append(f"API error rate {rate:.2%} (>= 1%) outside the Postgres restart")
    if production.given_up:
        problems.append(f"{production.given_up} changes never accepted after 60 attempts")
    return lines, problems


def _report(
    profile: Profile,
    project_id: str,
    production: Production,
    faults: FaultLog,
    state: dict,
    listeners: Listeners,
    mail: MailCollector,
    model: ModelServer,
    dlq: tuple[dict[str, int], dict[str, int]],
) -> Report:
    lines, problems = _errors(production, faults)
    rows = _query(
        "SELECT id::text, assignee_id, title FROM tasks.tasks WHERE project_id = %s", project_id
    )
    truth = {task_id: (assignee, title) for task_id, assignee, title in rows}
    if set(truth) != set(production.tasks):
        problems.append(
            f"tasks stored {len(truth)} != accepted {len(production.tasks)}"
            f" (e.g. {sorted(set(truth) ^ set(production.tasks))[:3]})"
        )
    counts = state["notifications"]
    missing = [t for t, (a, _) in truth.items() if counts.get((t, a), 0) == 0]
    doubled = [t for t, (a, _) in truth.items() if counts.get((t, a), 0) > 1]
    strays = [key for key in counts if key[0] in truth and key[1] != truth[key[0]][0]]
    notified = sum(counts.values())
    lines.append(f"changes produced {len(truth)}; notification rows {notified}")
    for what, found in (("no notification", missing), ("several notifications", doubled)):
        if found:
            problems.append(f"{len(found)} changes with {what} (e.g. {found[:3]})")
    if strays:
        problems.append(f"{len(strays)} notifications to someone not assigned (e.g. {strays[:3]})")

    # WebSocket: every stored notification of a recipient, seen exactly once across reconnects.
    expected_ids = _query(
        "SELECT user_id, id::text FROM notify.notify_notification"
        " WHERE kind = 'task_assigned' AND data->>'task_id' = ANY(%s)",
        list(truth),
    )
    ws_total = ws_dupes = ws_missing = changes_missing = changes_dupes = repeats = resyncs = 0
    for user in listeners.users:
        seen = listeners.seen[user.id]
        notes = Counter(seen.ids)
        wanted = {nid for uid, nid in expected_ids if uid == user.id}
        ws_total += len(seen.positions)
        ws_dupes += sum(c - 1 for c in notes.values() if c > 1)
        ws_missing += len(wanted - set(notes))
        # Every recipient is a project member: each created task reaches each of them live.
        created = Counter(seen.created)
        changes_missing += len(set(truth) - set(created))
        changes_dupes += sum(c - 1 for c in created.values() if c > 1)
        repeats += len(seen.positions) - len(set(seen.positions))
        resyncs += seen.resyncs
    connects = sum(s.connects for s in listeners.seen.values())
    lines.append(
        f"websocket: {ws_total} frames over {connects} connections, {resyncs} resyncs;"
        f" notifications missing {ws_missing}, duplicated {ws_dupes};"
        f" task changes ({len(truth)} x {len(listeners.users)} members) missing"
        f" {changes_missing}, duplicated {changes_dupes}; feed positions repeated {repeats}"
    )
    if ws_missing or ws_dupes or changes_missing or changes_dupes or repeats or resyncs:
        problems.append(
            f"websocket: notifications {ws_missing} missing, {ws_dupes} duplicated;"
            f" task changes {changes_missing} missing, {changes_dupes} duplicated;"
            f" {repeats} positions repeated, {resyncs} resyncs"
        )

    # Email: one message per change in the recipient's Mailpit inbox.
    email_of = {u.id: u.email for u in listeners.users}
    subjects = {email: Counter(s.values()) for email, s in mail.subjects.items()}
    mail_missing = mail_dupes = 0
    for assignee, title in truth.values():
        got = subjects[email_of[assignee]][f'[TaskFlow] "{title}" was assigned to you']
        mail_missing += got == 0
        mail_dupes += max(got - 1, 0)
    lines.append(
        f"email: {mail.count()} messages in Mailpit; missing {mail_missing},"
        f" duplicated {mail_dupes}; deliveries {state['deliveries']}"
    )
    if mail_missing or mail_dupes:
        problems.append(f"email: {mail_missing} missing, {mail_dupes} duplicated")

    before, after = dlq
    grown = {q: n - before.get(q, 0) for q, n in after.items() if n > before.get(q, 0)}
    lines.append(f"dead-letter queues grown: {grown or 'none'}; outbox unsent {state['outbox']}")
    if grown:
        problems.append(f"dead-lettered during the run: {grown}")
    if state["outbox"]:
        problems.append(f"{state['outbox']} outbox rows never published")
    lines.append(f"model: {model.calls} calls, {model.hung_calls} during the hang")
    lines.append(
        "faults: "
        + ", ".join(f"{w.name} {(w.ended or 0) - w.started:.0f} s" for w in faults.windows)
    )
    lines.insert(0, f"profile {profile.changes} changes, {len(profile.faults)} faults")
    return Report(lines, problems)
