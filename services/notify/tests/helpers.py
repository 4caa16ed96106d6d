"""Test helpers for notify: a test-owned token issuer, event builders, WebSocket readers."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import websockets
from cryptography.hazmat.primitives.asymmetric import rsa

from taskflow_common.events.contracts.tasks import (
    ProjectCreatedV1,
    ProjectMemberAddedV1,
    ProjectSnapshotV1,
    TaskAssignedV1,
    TaskCreatedV1,
    TaskSnapshotV1,
)
from taskflow_common.events.envelope import EventData, RawEnvelope, new_envelope

TEST_ISSUER = "https://issuer.notify-tests.invalid"
TEST_AUDIENCE = "taskflow-api"


class TestIssuer:
    """Signs real RS256 access tokens with a key only the tests hold; serves its JWKS."""

    __test__ = False

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"notify-test-{uuid.uuid4().hex[:8]}"
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        self.jwks_document = {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(self, sub: str, *, lifetime: float = 600, roles: tuple[str, ...] = ("user",)) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": TEST_ISSUER,
            "aud": TEST_AUDIENCE,
            "sub": sub,
            "preferred_username": f"user-{sub[:8]}",
            "iat": now,
            "nbf": now,
            "exp": now + int(lifetime),
            "typ": "Bearer",
            "realm_access": {"roles": list(roles)},
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})


def new_user_id() -> str:
    return str(uuid.uuid4())


def task_snapshot(owner_id: str, **overrides: Any) -> TaskSnapshotV1:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "owner_id": owner_id,
        "title": "Write the quarterly report",
        "status": "todo",
        "priority": "high",
        "version": 1,
        "due_at": now + timedelta(days=1),
        "created_at": now,
        "updated_at": now,
    }
    fields.update(overrides)
    return TaskSnapshotV1(**fields)


def envelope(data: EventData, actor: str) -> RawEnvelope:
    return new_envelope(data, subject=actor)


def task_created(owner_id: str, **overrides: Any) -> RawEnvelope:
    return envelope(TaskCreatedV1(task=task_snapshot(owner_id, **overrides)), owner_id)


def task_assigned(owner_id: str, assignee_id: str, **overrides: Any) -> RawEnvelope:
    task = task_snapshot(owner_id, assignee_id=assignee_id, **overrides)
    return envelope(TaskAssignedV1(task=task), owner_id)


def project_created(owner_id: str, project_id: str) -> RawEnvelope:
    now = datetime.now(UTC)
    project = ProjectSnapshotV1(
        id=project_id, owner_id=owner_id, name="Shared", created_at=now, updated_at=now
    )
    return envelope(ProjectCreatedV1(project=project), owner_id)


def member_added(owner_id: str, project_id: str, user_id: str) -> RawEnvelope:
    return envelope(
        ProjectMemberAddedV1(project_id=project_id, user_id=user_id, role="editor"), owner_id
    )


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


async def await_for(predicate: Callable[[], Any], within: float = 15.0) -> Any:
    """As wait_for, for predicates that touch the database (run off the event loop)."""
    deadline = time.monotonic() + within
    while True:
        value = await asyncio.to_thread(predicate)
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


def ws_connect(server: str, token: str, query: str = "") -> Any:
    """/ws/notifications on `server` with the token as the `bearer` subprotocol pair."""
    return websockets.connect(
        f"ws://{server}/ws/notifications{query}", subprotocols=["bearer", token]
    )


async def ws_frames(ws: Any, quiet_for: float) -> list[dict[str, Any]]:
    """Frames (heartbeats left out) until no other frame arrives for `quiet_for` seconds.

    Heartbeats do not restart the wait, so a short heartbeat interval cannot keep it open.
    """
    frames = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + quiet_for
    try:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - loop.time()))
            if frame["type"] not in {"ping", "pong"}:
                frames.append(frame)
                deadline = loop.time() + quiet_for
    except TimeoutError:
        return frames
