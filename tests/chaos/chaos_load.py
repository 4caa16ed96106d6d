"""The chaos run's clients: users, the producer of task changes, WebSocket listeners, the
Mailpit collector. Each keeps going through faults the way a patient real client would."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

MAILPIT = "http://127.0.0.1:8025"


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


class User:
    """A registered user whose access token is renewed before it expires (and after a fault)."""

    def __init__(self, gateway: str, prefix: str) -> None:
        self.gateway = gateway
        self.name = f"{prefix}-{secrets.token_hex(4)}"
        self.email = f"{self.name}@example.test"
        self._password = f"Pw-{secrets.token_urlsafe(12)}"
        self._lock = threading.Lock()
        with httpx.Client(base_url=gateway, timeout=30) as client:
            created = client.post(
                "/auth/register",
                json={"username": self.name, "email": self.email, "password": self._password},
            )
            assert created.status_code == 201, created.text
        self._token = ""
        self._expires = 0.0
        self._login()
        self.id = str(_claims(self._token)["sub"])

    def _login(self) -> None:
        response = httpx.post(
            f"{self.gateway}/auth/login",
            json={"username": self.name, "password": self._password},
            timeout=30,
        )
        response.raise_for_status()
        self._token = str(response.json()["access_token"])
        self._expires = float(_claims(self._token)["exp"])

    def token(self) -> str:
        with self._lock:
            if time.time() > self._expires - 120:
                # Keycloak may be restarting with Postgres: keep the old token a while.
                with contextlib.suppress(httpx.HTTPError):
                    self._login()
            return self._token


@dataclass
class Attempt:
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all (connection refused, timeout)


@dataclass
class Production:
    """What the producer did: every request it sent, and the changes that were accepted."""

    attempts: list[Attempt] = field(default_factory=list)
    tasks: dict[str, str] = field(default_factory=dict)  # task id -> assignee id
    given_up: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def produced(self) -> int:
        return len(self.tasks)


def produce(
    gateway: str,
    actor: User,
    project_id: str,
    recipients: list[User],
    tag: str,
    indices: range,
    out: Production,
    pace: float,
) -> None:
    """One task change per index: a task in the shared project, assigned to a recipient.

    Each change carries an Idempotency-Key and is retried on any failure (what a careful client
    does), so a change whose answer was lost is neither lost nor made twice.
    """
    with httpx.Client(base_url=gateway, timeout=30) as client:
        for i in indices:
            next_at = time.monotonic() + pace
            assignee = recipients[i % len(recipients)]
            body = {
                "title": f"chaos {tag} #{i}",
                "project_id": project_id,
                "assignee_id": assignee.id,
            }
            key = f"chaos-{tag}-{i}"
            for attempt in range(60):
                started = time.time()
                try:
                    response = client.post(
                        "/api/v1/tasks",
                        json=body,
                        headers={
                            "authorization": f"Bearer {actor.token()}",
                            "idempotency-key": key,
                        },
                    )
                    status: int | None = response.status_code
                except httpx.HTTPError:
                    response, status = None, None
                with out.lock:
                    out.attempts.append(Attempt(started, time.time(), status))
                if response is not None and status in (200, 201):
                    with out.lock:
                        out.tasks[response.json()["id"]] = assignee.id
                    break
                time.sleep(min(0.2 * 2**attempt, 3.0))
            else:
                with out.lock:
                    out.given_up += 1
            time.sleep(max(next_at - time.monotonic(), 0.0))


@dataclass
class Seen:
    """What one WebSocket client received across its reconnects, following the sync-token
    protocol: reconnect with `since=<the last sync_token seen>`, so the feed replays what the
    client missed and nothing it already has."""

    ids: list[str] = field(default_factory=list)  # notification ids
    created: list[str] = field(default_factory=list)  # task ids of task.changed "created" frames
    positions: list[int] = field(default_factory=list)  # feed positions of every frame
    sync_token: str | None = None
    connects: int = 0
    resyncs: int = 0


async def _listen_once(ws_url: str, user: User, seen: Seen, stop: asyncio.Event) -> None:
    url = ws_url + (f"?since={seen.sync_token}" if seen.sync_token else "")
    async with websockets.connect(
        url, subprotocols=["bearer", user.token()], open_timeout=10, ping_interval=None
    ) as ws:
        seen.connects += 1
        replay_done = seen.sync_token is None
        while not (stop.is_set() and replay_done):
            try:
                raw = await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                continue
            frame = json.loads(raw)
            kind = frame["type"]
            if kind == "resync":
                seen.resyncs += 1
            if kind == "replay.done":
                replay_done = True
            if "pos" in frame:
                seen.positions.append(frame["pos"])
            if "sync_token" in frame:
                seen.sync_token = frame["sync_token"]
            if kind == "notification":
                seen.ids.append(frame["id"])
            elif kind == "task.changed" and frame.get("change") == "created":
                seen.created.append(frame["task"]["id"])


async def listen(ws_url: str, user: User, seen: Seen, stop: asyncio.Event) -> None:
    """Stay connected; after any drop reconnect with `since` = the last sync token seen."""
    while not stop.is_set():
        try:
            await _listen_once(ws_url, user, seen, stop)
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
            await asyncio.sleep(1.0)


async def catch_up(ws_url: str, user: User, seen: Seen) -> None:
    """One last reconnect with `since`: read the replay to its end, then leave."""
    done = asyncio.Event()
    done.set()
    for _ in range(30):
        try:
            await _listen_once(ws_url, user, seen, done)
            return
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
            await asyncio.sleep(1.0)


class MailCollector:
    """Polls Mailpit for the recipients' messages, keeping every message id it ever saw: Mailpit
    keeps only its newest 5,000 messages, and a full run sends about that many."""

    def __init__(self, recipients: list[User]) -> None:
        self.recipients = recipients
        self.subjects: dict[str, dict[str, str]] = {u.email: {} for u in recipients}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> MailCollector:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()

    def _run(self) -> None:
        while not self._stop.wait(5.0):
            self.poll()

    def poll(self) -> None:
        for user in self.recipients:
            try:
                response = httpx.get(
                    f"{MAILPIT}/api/v1/search",
                    params={"query": f"to:{user.email}", "limit": 1000},
                    timeout=30,
                )
                response.raise_for_status()
            except httpx.HTTPError:
                continue
            for message in response.json()["messages"]:
                self.subjects[user.email][message["ID"]] = message["Subject"]

    def count(self) -> int:
        return sum(len(s) for s in self.subjects.values())
