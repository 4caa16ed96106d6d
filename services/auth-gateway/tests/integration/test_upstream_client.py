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


async def test_a_connection_idle_near_the_upstreams_keep_alive_limit_is_not_reused():
    """A PATCH cannot be sent twice, so it must never ride a connection the upstream is closing.

    This upstream drops a connection that was idle for 0.3 s when the next request arrives
    (uvicorn's keep-alive close crossing a request in flight, made deterministic). The pool
    retires connections idle for 0.2 s, so the second PATCH goes out on a fresh one.
    """
    import asyncio

    from taskflow_auth_gateway.infrastructure.upstream.h1 import H1Pool

    connections = 0

    async def keep_alive_server(reader, writer):
        nonlocal connections
        connections += 1
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            if loop.time() - idle_since >= 0.3:
                break  # closed just as the request arrived
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()
            idle_since = loop.time()
        writer.close()

    server = await asyncio.start_server(keep_alive_server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = H1Pool("127.0.0.1", port, host_header=b"x", idle_timeout=0.2)

    async def patch() -> int:
        exchange = await pool.request(
            "PATCH", b"/t", [], b"{}", body_length=2, head_timeout=5, retry_idempotent=False
        )
        assert b"".join([chunk async for chunk in exchange.body()]) == b"ok"
        exchange.release()
        return exchange.status

    try:
        assert await patch() == 200
        assert await patch() == 200  # reused at once
        assert connections == 1
        await asyncio.sleep(0.35)
        assert await patch() == 200  # would be a dropped connection if reused
        assert connections == 2
    finally:
        pool.close()
        server.close()
