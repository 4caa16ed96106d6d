"""The pooled HTTP/1.1 upstream client: keep-alive reuse, stale connections, HEAD, chunked."""

import httpx
from gateway_support import dev_gateway, free_port, serving, upstream_app

from taskflow_auth_gateway.infrastructure.upstream.http import HttpUpstream


async def login(client: httpx.AsyncClient) -> dict[str, str]:
    user = {"username": "pooluser", "email": "pool@example.com", "password": "a-long-password"}
    assert (await client.post("/auth/register", json=user)).status_code == 201
    tokens = (
        await client.post(
            "/auth/login", json={"username": "pooluser", "password": "a-long-password"}
        )
    ).json()
    return {"authorization": f"Bearer {tokens['access_token']}"}


async def test_pooled_connections_survive_an_upstream_restart(tmp_path):
    port = free_port()
    upstream = HttpUpstream("tasks", f"http://127.0.0.1:{port}")
    app, _ = dev_gateway(tmp_path, {"tasks": upstream})
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        bearer = await login(client)
        async with serving(upstream_app(), port=port):
            for _ in range(5):
                assert (await client.get("/api/v1/tasks/1", headers=bearer)).status_code == 200
        # The upstream is gone: its pooled connections are dead, and so is the port.
        assert (await client.get("/api/v1/tasks/1", headers=bearer)).status_code == 503
        async with serving(upstream_app(), port=port):
            for _ in range(5):
                assert (await client.get("/api/v1/tasks/1", headers=bearer)).status_code == 200


async def test_head_chunked_and_keep_alive_reuse(tmp_path):
    async with serving(upstream_app()) as upstream_url:
        app, _ = dev_gateway(tmp_path, {"tasks": HttpUpstream("tasks", upstream_url)})
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
            bearer = await login(client)
            head = await client.head("/api/v1/tasks/1", headers=bearer)
            assert head.status_code in (200, 405)
            assert head.content == b""
            # A streamed (chunked) response, then ordinary requests on the same pool.
            big = await client.get("/api/v1/tasks/big?mb=1", headers=bearer)
            assert len(big.content) == 1024 * 1024
            for index in range(20):
                echoed = await client.get(f"/api/v1/tasks/{index}", headers=bearer)
                assert echoed.json()["path"] == f"/api/v1/tasks/{index}"
            posted = await client.post("/api/v1/tasks", headers=bearer, json={"a": 1})
            assert posted.json()["body_length"] == len(b'{"a":1}')


async def test_a_body_delimited_by_connection_close_is_complete():
    import asyncio

    from taskflow_auth_gateway.infrastructure.upstream.h1 import H1Pool

    async def old_server(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(old_server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = H1Pool("127.0.0.1", port, host_header=b"x")
    try:
        exchange = await pool.request(
            "GET", b"/", [], None, body_length=None, head_timeout=5, retry_idempotent=True
        )
        body = b"".join([chunk async for chunk in exchange.body()])
        exchange.release()
        assert exchange.status == 200
        assert body == b"until the end"
    finally:
        pool.close()
        server.close()
