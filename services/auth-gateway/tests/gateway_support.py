"""Test helpers: real uvicorn servers on free ports, and a small upstream to proxy to."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from taskflow_auth_gateway.bootstrap import create_app
from taskflow_auth_gateway.config import GatewaySettings
from taskflow_auth_gateway.infrastructure.identity.dev import DevIdentityProvider
from taskflow_common.listeners import MetricsListenerSplit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if port:  # a port asked for may still be in TIME_WAIT; a kernel-picked one never shares
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.set_inheritable(True)
    return sock


@contextlib.asynccontextmanager
async def serving_listeners(app: Any, port: int | None = None) -> AsyncIterator[tuple[str, str]]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 inside the test's event loop, on its two
    listeners as `serve` runs it: yields (public URL, metrics URL).

    Both sockets are bound here, before the server starts, and held: two ports picked by
    `free_port` one after the other can be the same one (the kernel may hand a just-released
    ephemeral port out again), which then fails at `listen` with EADDRINUSE."""
    sockets = [_listening_socket(port or 0), _listening_socket(0)]
    port, metrics_port = (int(sock.getsockname()[1]) for sock in sockets)
    app = MetricsListenerSplit(app, metrics_port)
    configs = [
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=p,
            lifespan="on",
            log_level="warning",
            access_log=False,
            log_config=None,
            proxy_headers=False,
        )
        for p in (port, metrics_port)
    ]
    server = uvicorn.Server(configs[0])
    task = asyncio.create_task(server.serve(sockets=sockets))
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    if task.done():
        task.result()
    try:
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def serving(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 inside the test's event loop."""
    async with serving_listeners(app, port) as (url, _metrics_url):
        yield url


def upstream_app(received: list[dict[str, Any]] | None = None) -> Starlette:
    """Echoes what it got; /slow sleeps; /big streams; /ws echoes frames."""
    received = received if received is not None else []

    async def echo(request: Request) -> Response:
        body = await request.body()
        seen = {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers),
            "body_length": len(body),
        }
        received.append(seen)
        return JSONResponse(
            seen,
            headers={
                "connection": "close, x-internal",
                "x-internal": "secret",
                "x-upstream": "yes",
            },
        )

    async def slow(request: Request) -> Response:
        await asyncio.sleep(float(request.query_params.get("s", "5")))
        return JSONResponse({"slept": True})

    async def big(request: Request) -> Response:
        size = int(request.query_params.get("mb", "4"))

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(size * 16):
                yield b"x" * 65536

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def openapi(request: Request) -> Response:
        return Response(json.dumps(UPSTREAM_SPEC), media_type="application/json")

    async def ws(websocket: WebSocket) -> None:
        protocols = websocket.scope.get("subprotocols") or []
        await websocket.accept(subprotocol="bearer" if "bearer" in protocols else None)
        auth = websocket.headers.get("authorization", "")
        await websocket.send_json({"hello": True, "authorization": auth[:7]})
        async for text in websocket.iter_text():
            await websocket.send_text(f"echo:{text}")

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", healthz),
            Route("/openapi.json", openapi),
            Route("/api/v1/tasks/slow", slow),
            Route("/api/v1/tasks/big", big),
            Route("/api/v1/tasks/{rest:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/api/v1/tasks", echo, methods=["GET", "POST"]),
            Route("/admin/{rest:path}", echo, methods=["GET", "POST"]),
            Route("/static/{rest:path}", echo),
            WebSocketRoute("/ws/notifications", ws),
        ]
    )


UPSTREAM_SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "tasks", "version": "1"},
    "paths": {
        "/api/v1/tasks/{task_id}": {
            "get": {
                "operationId": "get_task",
                "parameters": [
                    {
                        "name": "task_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/TaskPublic"}
                            }
                        },
                    }
                },
            }
        },
        "/healthz": {"get": {"responses": {"200": {"description": "ok"}}}},
    },
    "components": {
        "schemas": {
            "TaskPublic": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "title": {"type": "string"}},
            }
        }
    },
}


def dev_gateway(
    data_dir: Path, upstreams: dict[str, Any], **overrides: Any
) -> tuple[Any, DevIdentityProvider]:
    settings = GatewaySettings(
        identity_provider="development",
        rate_limiter="memory",
        data_dir=data_dir,
        public_url="http://gateway.test",
        **overrides,
    )
    identity = DevIdentityProvider(data_dir=data_dir, issuer=settings.public_url)
    return create_app(settings, identity=identity, upstreams=upstreams), identity


def keycloak_gateway(upstreams: dict[str, Any], limiter: Any = None, **overrides: Any) -> Any:
    """The distributed gateway against the stack's Keycloak (JWKS over HTTP)."""
    settings = GatewaySettings(identity_provider="keycloak", rate_limiter="off", **overrides)
    return create_app(settings, upstreams=upstreams, limiter=limiter)
