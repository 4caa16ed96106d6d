"""The proxy over real sockets: headers, streaming, 413/503/504, WebSockets (dev identity)."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import websockets
from gateway_support import dev_gateway, free_port, serving, upstream_app

from taskflow_auth_gateway.infrastructure.upstream.http import HttpUpstream


@dataclass
class Running:
    url: str
    token: str
    received: list
    upstream_url: str


@contextlib.asynccontextmanager
async def gateway_in_front_of_upstream(tmp_path, **overrides) -> AsyncIterator[Running]:
    received: list = []
    async with serving(upstream_app(received)) as upstream_url:
        upstreams = {
            "tasks": HttpUpstream("tasks", upstream_url, read_timeout=0.5),
            "notify": HttpUpstream("notify", upstream_url),
            "suggest": HttpUpstream("suggest", f"http://127.0.0.1:{free_port()}"),
        }
        app, _ = dev_gateway(tmp_path, upstreams, **overrides)
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            registered = await client.post(
                "/auth/register",
                json={
                    "username": "proxyuser",
                    "email": "p@example.com",
                    "password": "a-long-password",
                },
            )
            assert registered.status_code == 201, registered.text
            login = await client.post(
                "/auth/login", json={"username": "proxyuser", "password": "a-long-password"}
            )
            yield Running(url, login.json()["access_token"], received, upstream_url)


@pytest.fixture
async def gw(tmp_path):
    async with gateway_in_front_of_upstream(tmp_path, max_body_bytes=1024 * 1024) as running:
        yield running


def auth(gw: Running) -> dict[str, str]:
    return {"authorization": f"Bearer {gw.token}"}


async def test_headers_are_cleaned_and_tracing_and_forwarding_added(gw):
    async with httpx.AsyncClient(base_url=gw.url) as client:
        response = await client.get(
            "/api/v1/tasks/42?x=1",
            headers={
                **auth(gw),
                "x-user-id": "admin",
                "x-forwarded-user": "root",
                "x-forwarded-for": "6.6.6.6",
                "x-request-id": "client-id-1",
                "connection": "x-drop-me",
                "x-drop-me": "1",
            },
        )
    assert response.status_code == 200
    seen = response.json()["headers"]
    assert "x-user-id" not in seen
    assert "x-forwarded-user" not in seen
    assert "x-drop-me" not in seen
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["host"] == seen["x-forwarded-host"] == gw.url.removeprefix("http://")
    assert seen["x-request-id"] == "client-id-1"
    assert seen["authorization"] == f"Bearer {gw.token}"
    assert seen["traceparent"].startswith("00-")
    assert response.json()["query"] == "x=1"
    # Response: request id echoed, upstream hop-by-hop headers dropped, security headers added.
    assert response.headers["x-request-id"] == "client-id-1"
    assert "x-internal" not in response.headers
    assert response.headers["x-upstream"] == "yes"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "ratelimit-remaining" in response.headers


async def test_the_scheme_and_host_from_a_trusted_proxy_reach_the_upstream(tmp_path):
    tls_ended_in_front = {"x-forwarded-proto": "https", "x-forwarded-host": "taskflow.example"}
    trusting = gateway_in_front_of_upstream(tmp_path, trusted_proxies=["127.0.0.1/32"])
    async with trusting as gw, httpx.AsyncClient(base_url=gw.url) as client:
        response = await client.get("/api/v1/tasks/1", headers={**auth(gw), **tls_ended_in_front})
    seen = response.json()["headers"]
    assert seen["x-forwarded-proto"] == "https"
    assert seen["x-forwarded-host"] == "taskflow.example"


async def test_the_scheme_and_host_from_an_untrusted_peer_are_ignored(gw):
    async with httpx.AsyncClient(base_url=gw.url) as client:
        response = await client.get(
            "/api/v1/tasks/1",
            headers={**auth(gw), "x-forwarded-proto": "https", "x-forwarded-host": "evil.example"},
        )
    seen = response.json()["headers"]
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == gw.url.removeprefix("http://")


async def test_a_malformed_request_id_is_replaced_and_echoed(gw):
    async with httpx.AsyncClient(base_url=gw.url) as client:
        response = await client.get(
            "/api/v1/tasks/1", headers={**auth(gw), "x-request-id": "x" * 200}
        )
    generated = response.headers["x-request-id"]
    assert generated != "x" * 200
    assert len(generated) == 32
    assert response.json()["headers"]["x-request-id"] == generated


async def test_a_client_traceparent_continues_the_trace(gw):
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with httpx.AsyncClient(base_url=gw.url) as client:
        response = await client.get("/api/v1/tasks/1", headers={**auth(gw), "traceparent": parent})
    forwarded = response.json()["headers"]["traceparent"]
    assert forwarded.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"


async def test_every_answer_names_its_trace_as_the_upstream_saw_it(gw):
    """traceresponse carries the trace id the upstream's traceparent carried, with or without
    the client's traceparent, and on the gateway's own answers (401s, /auth, 404s) too."""
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with httpx.AsyncClient(base_url=gw.url) as client:
        continued = await client.get("/api/v1/tasks/1", headers={**auth(gw), "traceparent": parent})
        fresh = await client.get("/api/v1/tasks/1", headers=auth(gw))
        refused = await client.get("/api/v1/tasks/1")
        unknown = await client.get("/nothing-here")
    version, trace_id, span_id, _flags = continued.headers["traceresponse"].split("-")
    assert (version, trace_id) == ("00", "0af7651916cd43dd8448eb211c80319c")
    assert span_id != "b7ad6b7169203331"  # the gateway's own span, the client's child
    upstream = fresh.json()["headers"]["traceparent"].split("-")[1]
    assert fresh.headers["traceresponse"].split("-")[1] == upstream
    assert upstream != "0af7651916cd43dd8448eb211c80319c"
    for answer in (refused, unknown):
        assert len(answer.headers["traceresponse"].split("-")[1]) == 32, answer.status_code


async def test_bodies_stream_both_ways(gw):
    async def upload() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"y" * 65536

    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        sent = await client.post("/api/v1/tasks/upload", headers=auth(gw), content=upload())
        assert sent.status_code == 200
        assert sent.json()["body_length"] == 8 * 65536
        total = 0
        async with client.stream("GET", "/api/v1/tasks/big?mb=8", headers=auth(gw)) as big:
            assert big.status_code == 200
            async for chunk in big.aiter_raw():
                total += len(chunk)
    assert total == 8 * 1024 * 1024


async def test_a_declared_oversized_body_is_refused_before_it_is_sent(gw):
    host, port = gw.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            f"POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {gw.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {2 * 1024 * 1024}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)  # no body was sent
    writer.close()
    assert head.startswith(b"HTTP/1.1 413")
    assert b"application/problem+json" in head
    assert not gw.received


async def test_a_streamed_oversized_body_is_cut_off_with_413(gw):
    async def endless() -> AsyncIterator[bytes]:
        for _ in range(64):  # 4 MiB offered, no Content-Length
            yield b"z" * 65536

    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        response = await client.post("/api/v1/tasks", headers=auth(gw), content=endless())
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert all(r["body_length"] <= 1024 * 1024 for r in gw.received)


async def test_an_upstream_that_is_down_gives_503(gw):
    async with httpx.AsyncClient(base_url=gw.url) as client:
        response = await client.get("/api/v1/suggestions", headers=auth(gw))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_upstream_that_is_too_slow_gives_504(gw):
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:
        response = await client.get("/api/v1/tasks/slow?s=3", headers=auth(gw))
    assert response.status_code == 504
    assert response.json()["status"] == 504


async def test_unknown_api_paths_need_a_token_then_are_404(gw):
    async with httpx.AsyncClient(base_url=gw.url) as client:
        assert (await client.get("/api/v1/nothing")).status_code == 401
        assert (await client.get("/api/v1/nothing", headers=auth(gw))).status_code == 404
        dotted = await client.get("/api/v1/tasks/%2E%2E/admin", headers=auth(gw))
    assert dotted.status_code in (400, 404)


async def test_websocket_with_the_bearer_subprotocol_pair(gw):
    ws_url = gw.url.replace("http", "ws") + "/ws/notifications"
    async with websockets.connect(ws_url, subprotocols=["bearer", gw.token]) as ws:
        assert ws.subprotocol == "bearer"
        hello = await ws.recv()
        assert '"authorization": "Bearer "' in hello or '"authorization":"Bearer "' in hello
        await ws.send("ping")
        assert await ws.recv() == "echo:ping"


async def test_open_websockets_are_not_bounded_by_the_http_pool(tmp_path):
    """Long-lived sockets must neither starve nor be capped by the HTTP connection pool."""
    received: list = []
    async with serving(upstream_app(received)) as upstream_url:
        upstreams = {"notify": HttpUpstream("notify", upstream_url, pool_size=2)}
        app, _ = dev_gateway(tmp_path, upstreams)
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            user = {"username": "wsmany", "email": "w@example.com", "password": "a-long-password"}
            assert (await client.post("/auth/register", json=user)).status_code == 201
            login = {"username": user["username"], "password": user["password"]}
            token = (await client.post("/auth/login", json=login)).json()["access_token"]
            ws_url = url.replace("http", "ws") + "/ws/notifications"
            async with contextlib.AsyncExitStack() as stack:
                sockets = [
                    await stack.enter_async_context(
                        websockets.connect(ws_url, subprotocols=["bearer", token], open_timeout=5)
                    )
                    for _ in range(6)
                ]
                for i, ws in enumerate(sockets):
                    await ws.recv()
                    await ws.send(f"m{i}")
                    assert await ws.recv() == f"echo:m{i}"


async def test_websocket_with_the_access_token_query_parameter(gw):
    ws_url = gw.url.replace("http", "ws") + f"/ws/notifications?access_token={gw.token}"
    async with websockets.connect(ws_url) as ws:
        await ws.recv()
        await ws.send("q")
        assert await ws.recv() == "echo:q"


async def test_websocket_without_a_valid_token_is_refused_with_401(gw):
    ws_url = gw.url.replace("http", "ws") + "/ws/notifications"
    for kwargs in ({}, {"subprotocols": ["bearer", "not-a-jwt"]}):
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(ws_url, **kwargs):
                pass
        assert refused.value.response.status_code == 401
        assert refused.value.response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_oversized_headers_are_refused(gw):
    async with httpx.AsyncClient(base_url=gw.url) as client:
        response = await client.get("/healthz", headers={"x-big": "a" * 20_000})
    assert response.status_code == 431


def test_free_port_is_free():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
