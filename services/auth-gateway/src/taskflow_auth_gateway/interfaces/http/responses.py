"""Raw-ASGI problem+json responses for the edge and the proxy (no framework on the hot path)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from taskflow_auth_gateway.application.ports import Scope, Send
from taskflow_common.problems import PROBLEM_MEDIA_TYPE, Problem

UNAUTHORIZED_HEADERS = ((b"www-authenticate", b'Bearer error="invalid_token"'),)


def problem_body(problem: Problem, instance: str | None = None) -> bytes:
    body = problem.to_dict()
    if instance and "instance" not in body:
        body["instance"] = instance
    return json.dumps(body, separators=(",", ":")).encode()


async def send_problem(
    scope: Scope,
    send: Send,
    problem: Problem,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """An HTTP problem response; for a WebSocket handshake, the same as a denial response
    when the server supports it (uvicorn does), else a plain close (seen as 403)."""
    body = problem_body(problem, scope.get("path"))
    all_headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    if scope["type"] == "websocket":
        if "websocket.http.response" in (scope.get("extensions") or {}):
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": problem.status,
                    "headers": all_headers,
                }
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "http.response.start", "status": problem.status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


def invalid_token(detail: str = "The bearer token is missing, invalid or expired.") -> Problem:
    return Problem(status=401, type="invalid-token", detail=detail)
