"""The embedded suite as a real process: `python -m taskflow_embedded` on a free port."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from .conftest import EmbeddedRun, free_port, suite_env  # type: ignore[import-not-found]

SERVICES = ("tasks", "suggest", "notify", "admin")
DEV_ADMIN_PASSWORD = "embedded-admin-password"


@pytest.fixture(scope="module")
def embedded_metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def embedded_run(embedded_metrics_port: int) -> Iterator[EmbeddedRun]:
    # Not pytest's tmp_path (0700 under root): the database server's OS user must reach it.
    root = Path(tempfile.mkdtemp(prefix="taskflow-embedded-"))
    root.chmod(0o755)
    run = EmbeddedRun(
        root / ".data",
        TASKFLOW_METRICS_PORT=str(embedded_metrics_port),
        TASKFLOW_DEV_ADMIN_PASSWORD=DEV_ADMIN_PASSWORD,
    )
    try:
        run.start()
        yield run
    finally:
        if run.process is not None and run.process.poll() is None:
            run.stop(signal.SIGTERM)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def embedded(embedded_run: EmbeddedRun) -> str:
    return embedded_run.url


def test_gateway_and_every_service_are_alive_and_ready(
    embedded: str, embedded_metrics_port: int
) -> None:
    assert httpx.get(f"{embedded}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{embedded}/readyz", timeout=10)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"}), ready.text
    operators = f"http://127.0.0.1:{embedded_metrics_port}"
    detailed = httpx.get(f"{operators}/readyz", timeout=10).json()
    assert httpx.get(f"{embedded}/metrics", timeout=10).status_code == 404
    assert "taskflow_http_requests_total" in httpx.get(f"{operators}/metrics", timeout=10).text
    for service in SERVICES:
        assert detailed["checks"][f"upstream:{service}"] == "ok"
        health = httpx.get(f"{embedded}/healthz/{service}", timeout=10)
        assert health.status_code == 200, (service, health.text)
        readiness = httpx.get(f"{embedded}/readyz/{service}", timeout=10)
        assert readiness.status_code == 200, (service, readiness.text)


def test_register_login_and_call_tasks_through_the_development_identity(embedded: str) -> None:
    with httpx.Client(base_url=embedded, timeout=10) as client:
        user = {
            "username": "embedded-ada",
            "email": "ada@example.test",
            "password": "correct-horse-battery",
        }
        created = client.post("/auth/register", json=user)
        assert created.status_code == 201, created.text
        assert client.post("/auth/register", json=user).status_code == 409
        tokens = client.post(
            "/auth/login", json={"username": user["username"], "password": user["password"]}
        ).json()
        bearer = {"authorization": f"Bearer {tokens['access_token']}"}
        me = client.get("/auth/me", headers=bearer).json()
        assert me["username"] == "embedded-ada"
        assert "user" in me["roles"]
        assert client.get("/api/v1/tasks", headers=bearer).status_code == 200
        created_task = client.post("/api/v1/tasks", headers=bearer, json={"title": "Embedded"})
        assert created_task.status_code == 201, created_task.text
        task_id = created_task.json()["id"]
        fetched = client.get(f"/api/v1/tasks/{task_id}", headers=bearer)
        assert fetched.status_code == 200
        assert fetched.json()["title"] == "Embedded"
        assert client.get("/api/v1/tasks").status_code == 401

        refreshed = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200
        new_refresh = refreshed.json()["refresh_token"]
        assert client.post("/auth/logout", json={"refresh_token": new_refresh}).status_code == 204
        assert client.post("/auth/refresh", json={"refresh_token": new_refresh}).status_code == 401


def test_the_development_identity_publishes_its_keys(embedded: str) -> None:
    keys = httpx.get(f"{embedded}/auth/jwks").json()["keys"]
    assert keys
    assert keys[0]["alg"] == "RS256"
    assert keys[0]["kty"] == "RSA"
    discovery = httpx.get(f"{embedded}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == embedded


def test_the_merged_openapi_document_is_served(embedded: str) -> None:
    spec = httpx.get(f"{embedded}/openapi.json", timeout=10).json()
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    # A started gateway has fetched every service's document: none is missing.
    assert "x-taskflow-missing-services" not in spec["info"], spec["info"]
    for path in ("/auth/login", "/api/v1/tasks", "/api/v1/suggestions", "/api/v1/notifications"):
        assert path in spec["paths"], path
    # notify and admin share one Django app (and a document) here; each path is still its own
    # service's.
    assert spec["paths"]["/api/v1/admin/stats"]["get"]["operationId"] == "admin_stats"
    assert httpx.get(f"{embedded}/docs").status_code == 200


def test_the_development_administrator_sees_every_services_figures(embedded: str) -> None:
    # `admin` with TASKFLOW_DEV_ADMIN_PASSWORD exists from the start. Both notify and admin
    # serve /api/v1/admin/stats (notify on its own port only): through the gateway it is the
    # admin service's aggregate, whose calls reach the in-process services.
    with httpx.Client(base_url=embedded, timeout=30) as client:
        login = {"username": "admin", "password": DEV_ADMIN_PASSWORD}
        tokens = client.post("/auth/login", json=login)
        assert tokens.status_code == 200, tokens.text
        bearer = {"authorization": f"Bearer {tokens.json()['access_token']}"}
        assert "admin" in client.get("/auth/me", headers=bearer).json()["roles"]
        stats = client.get("/api/v1/admin/stats", headers=bearer)
        assert stats.status_code == 200, stats.text
        services = stats.json()["services"]
        assert set(services) == {"tasks", "notify", "suggest"}
        for name, health in services.items():
            assert health["ready"], (name, health)
            assert health["problem"] is None, (name, health)
            assert isinstance(health["stats"], dict), (name, health)
        tasks = client.get("/api/v1/admin/tasks", headers=bearer)
        assert tasks.status_code == 404  # the tasks service's admin API is not public


def test_refuses_to_start_in_production(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "taskflow_embedded",
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / ".data"),
        ],
        env=suite_env(TASKFLOW_ENV="production"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "production" in result.stderr
    assert not (tmp_path / ".data").exists()  # no database server was initialised or started


async def test_a_task_change_reaches_the_websocket_through_the_gateway(embedded: str) -> None:
    import asyncio
    import json

    import websockets

    async with httpx.AsyncClient(base_url=embedded, timeout=10) as client:
        user = {"username": "ws-ada", "email": "ws-ada@example.test", "password": "long-password-1"}
        assert (await client.post("/auth/register", json=user)).status_code == 201
        login = await client.post(
            "/auth/login", json={"username": "ws-ada", "password": "long-password-1"}
        )
        token = login.json()["access_token"]
        ws_url = embedded.replace("http", "ws") + "/ws/notifications"
        async with websockets.connect(ws_url, subprotocols=["bearer", token]) as ws:
            assert ws.subprotocol == "bearer"
            created = await client.post(
                "/api/v1/tasks",
                headers={"authorization": f"Bearer {token}"},
                json={"title": "pushed"},
            )
            assert created.status_code == 201
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert frame["task"]["id"] == created.json()["id"]
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(ws_url, subprotocols=["bearer", "forged"]):
                pass
        assert refused.value.response.status_code == 401


def test_suggestions_read_and_update_tasks_in_process(embedded: str) -> None:
    with httpx.Client(base_url=embedded, timeout=20) as client:
        name = f"sg{os.getpid()}{time.monotonic_ns() % 100000}"
        user = {"username": name, "email": f"{name}@example.test", "password": "Str0ng-pass!"}
        assert client.post("/auth/register", json=user).status_code == 201
        login = client.post("/auth/login", json={"username": name, "password": "Str0ng-pass!"})
        bearer = {"authorization": f"Bearer {login.json()['access_token']}"}
        task = client.post(
            "/api/v1/tasks",
            headers=bearer,
            json={"title": "Production outage: customers cannot log in, fix asap"},
        ).json()

        suggestion = client.post(
            "/api/v1/suggestions/priority", headers=bearer, json={"task_id": task["id"]}
        )
        assert suggestion.status_code == 200, suggestion.text
        body = suggestion.json()
        assert body["task_id"] == task["id"]
        assert body["source"] == "heuristic"
        assert body["priority"] in {"high", "urgent"}

        accepted = client.post(
            f"/api/v1/suggestions/{body['id']}/feedback", headers=bearer, json={"accepted": True}
        )
        assert accepted.status_code in {200, 204}, accepted.text
        assert (
            client.get(f"/api/v1/tasks/{task['id']}", headers=bearer).json()["priority"]
            == (body["priority"])
        )
