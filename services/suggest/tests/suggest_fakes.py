"""Fakes for the suggest service's ports, a fake tasks API, and real RS256 test tokens."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from taskflow_suggest.application.errors import (
    ModelFailure,
    TaskChangeForbiddenError,
    TaskNotFoundError,
)
from taskflow_suggest.application.ports import Caller, RecordedSuggestion, SourceCounts
from taskflow_suggest.domain.model import Priority, Suggestion, TaskFacts, Verdict

ISSUER = "http://127.0.0.1:8180/realms/taskflow"
AUDIENCE = "taskflow-api"


class FakeSuggestionRepository:
    def __init__(self) -> None:
        self.rows: dict[str, Suggestion] = {}
        self.feedback: dict[tuple[str, str], bool] = {}
        self.task_versions: dict[str, int] = {}

    async def add(self, suggestion: Suggestion) -> Suggestion:
        if suggestion.source_event_id:
            existing = await self.by_source_event(suggestion.source_event_id)
            if existing:
                return existing
        self.rows[suggestion.id] = suggestion
        return suggestion

    async def record_for_event(self, suggestion: Suggestion) -> RecordedSuggestion | None:
        stored = await self.by_source_event(suggestion.source_event_id or "")
        if stored is None:
            if suggestion.task_id is not None and suggestion.task_version is not None:
                held = self.task_versions.get(suggestion.task_id, 0)
                if suggestion.task_version <= held:
                    return None  # a newer snapshot of the task was answered already
                self.task_versions[suggestion.task_id] = suggestion.task_version
            stored = await self.add(suggestion)
        before = [s for s in self.rows.values() if s.task_id == stored.task_id and s.id < stored.id]
        previous = max(before, key=lambda s: s.id).priority if before else None
        return RecordedSuggestion(stored, previous)

    async def get(self, suggestion_id: str) -> Suggestion | None:
        return self.rows.get(suggestion_id)

    async def by_source_event(self, event_id: str) -> Suggestion | None:
        return next((s for s in self.rows.values() if s.source_event_id == event_id), None)

    async def list_for_task(
        self, task_id: str, *, limit: int, before_id: str | None
    ) -> list[Suggestion]:
        return self._page([s for s in self.rows.values() if s.task_id == task_id], limit, before_id)

    async def list_requested_by(
        self, user_id: str, *, limit: int, before_id: str | None
    ) -> list[Suggestion]:
        rows = [s for s in self.rows.values() if s.requested_by == user_id]
        return self._page(rows, limit, before_id)

    @staticmethod
    def _page(rows: list[Suggestion], limit: int, before_id: str | None) -> list[Suggestion]:
        rows = sorted(rows, key=lambda s: s.id, reverse=True)
        if before_id:
            rows = [s for s in rows if s.id < before_id]
        return rows[:limit]

    async def record_feedback(self, suggestion_id: str, user_id: str, accepted: bool) -> None:
        self.feedback[(suggestion_id, user_id)] = accepted

    async def acceptance_counts(self) -> tuple[int, int]:
        return sum(self.feedback.values()), len(self.feedback)

    async def source_counts(self) -> list[SourceCounts]:
        counts: dict[str, list[int]] = {}
        for suggestion in self.rows.values():
            counts.setdefault(suggestion.source, [0, 0, 0])[0] += 1
        for (suggestion_id, _user), accepted in self.feedback.items():
            counts[self.rows[suggestion_id].source][1 if accepted else 2] += 1
        return [SourceCounts(source, *numbers) for source, numbers in counts.items()]


@dataclass
class FakeTask:
    facts: TaskFacts
    readers: set[str]
    writers: set[str]


@dataclass
class FakeTasks:
    """TaskReader and TaskWriter over a dict, with the tasks service's visibility rules."""

    tasks: dict[str, FakeTask] = field(default_factory=dict)
    priority_changes: list[tuple[str, str, Priority]] = field(default_factory=list)

    def add(self, facts: TaskFacts, owner: str, *, viewers: tuple[str, ...] = ()) -> str:
        task_id = facts.task_id or str(uuid.uuid4())
        facts = replace(facts, task_id=task_id, owner_id=owner)
        self.tasks[task_id] = FakeTask(facts, {owner, *viewers}, {owner})
        return task_id

    async def get(self, caller: Caller, task_id: str) -> TaskFacts | None:
        task = self.tasks.get(task_id)
        if task is None or caller.user_id not in task.readers:
            return None
        return task.facts

    async def open_tasks(self, caller: Caller, limit: int) -> list[TaskFacts]:
        return [t.facts for t in self.tasks.values() if caller.user_id in t.readers][:limit]

    async def set_priority(self, caller: Caller, task_id: str, priority: Priority) -> None:
        task = self.tasks.get(task_id)
        if task is None or caller.user_id not in task.readers:
            raise TaskNotFoundError(task_id)
        if caller.user_id not in task.writers:
            raise TaskChangeForbiddenError(task_id)
        task.facts = replace(task.facts, priority=priority)
        self.priority_changes.append((caller.user_id, task_id, priority))


class FakeModel:
    """Answers a fixed verdict, or fails with a reason."""

    def __init__(self, verdict: Verdict | None = None, failure: str | None = None) -> None:
        self.verdict = verdict
        self.failure = failure
        self.calls = 0

    @property
    def model_name(self) -> str:
        return "fake-model"

    async def suggest(self, task: TaskFacts, now: datetime) -> Verdict:
        self.calls += 1
        if self.failure:
            raise ModelFailure(self.failure)
        assert self.verdict is not None
        return self.verdict


class TestKeys:
    """An RSA key pair with a JWKS document, minting access tokens like Keycloak's."""

    __test__ = False

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "suggest-test-key"
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks: dict[str, Any] = {
            "keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]
        }

    def token(self, sub: str, lifetime: int = 300, roles: tuple[str, ...] = ("user",)) -> str:
        now = int(time.time())
        claims = {
            "realm_access": {"roles": list(roles)},
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "preferred_username": sub,
            "typ": "Bearer",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def subject(self, token: str) -> str | None:
        try:
            claims = jwt.decode(
                token, self.key.public_key(), algorithms=["RS256"], audience=AUDIENCE
            )
        except jwt.PyJWTError:
            return None
        return str(claims["sub"])


def fake_tasks_api(keys: TestKeys, tasks: dict[str, dict[str, Any]]) -> Starlette:
    """A small stand-in for the tasks HTTP API (GET/PATCH one task, list), owner-only."""

    def caller(request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return keys.subject(token) if scheme.lower() == "bearer" else None

    async def one(request: Request) -> Response:
        user = caller(request)
        if user is None:
            return JSONResponse({"status": 401}, status_code=401)
        task = tasks.get(request.path_params["task_id"])
        if task is None or user not in (task["owner_id"], *task.get("_viewers", ())):
            return JSONResponse({"status": 404}, status_code=404)
        if request.method == "PATCH":
            if user != task["owner_id"]:
                return JSONResponse({"status": 403}, status_code=403)
            task.update(await request.json())
            task["version"] += 1
        return JSONResponse({k: v for k, v in task.items() if not k.startswith("_")})

    async def listing(request: Request) -> Response:
        user = caller(request)
        if user is None:
            return JSONResponse({"status": 401}, status_code=401)
        statuses = request.query_params.getlist("status")
        parent = request.query_params.get("parent_id")
        rows = [
            {k: v for k, v in t.items() if not k.startswith("_")}
            for t in tasks.values()
            if user in (t["owner_id"], *t.get("_viewers", ()))
            and (not statuses or t["status"] in statuses)
            and (parent is None or t.get("parent_id") == parent)
        ]
        return JSONResponse({"data": rows, "next_cursor": None})

    return Starlette(
        routes=[
            Route("/api/v1/tasks", listing, methods=["GET"]),
            Route("/api/v1/tasks/{task_id}", one, methods=["GET", "PATCH"]),
        ]
    )
