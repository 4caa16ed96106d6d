"""Serves `/v1/chat/completions` from recorded fixtures, on a free loopback port.

The request's `model` names the scenario (`fixtures/<model>.json`): a list of recorded
responses served in order, cyclically, each with an HTTP status, a body and an
optional delay (a hanging model). A scenario may refuse `response_format` json_schema with a
400 (or `refuse_status`), as servers without json_schema support do. Every request is
recorded for assertions.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class ReplayState:
    calls: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def reset(self) -> None:
        self.calls.clear()


def load_scenario(name: str) -> dict[str, Any]:
    path = FIXTURES / f"{name}.json"
    if not path.is_file():
        raise KeyError(name)
    scenario: dict[str, Any] = json.loads(path.read_text())
    return scenario


def build_app(state: ReplayState) -> Starlette:
    async def chat_completions(request: Request) -> JSONResponse:
        body = await request.json()
        name = str(body.get("model", ""))
        try:
            scenario = load_scenario(name)
        except KeyError:
            return JSONResponse(
                {
                    "error": {
                        "message": f"model {name!r} not found",
                        "type": "invalid_request_error",
                    }
                },
                status_code=404,
            )
        state.calls[name].append(body)
        refused = scenario.get("refuse_response_format")
        if refused and (body.get("response_format") or {}).get("type") == refused:
            return JSONResponse(
                {
                    "error": {
                        "message": f"response_format type {refused!r} is not supported",
                        "type": "invalid_request_error",
                        "param": "response_format",
                    }
                },
                status_code=int(scenario.get("refuse_status", 400)),
            )
        served = [c for c in state.calls[name] if _counts(c, refused)]
        responses = scenario["responses"]
        recorded = responses[(len(served) - 1) % len(responses)]
        if recorded.get("delay_seconds"):
            await asyncio.sleep(float(recorded["delay_seconds"]))
        return JSONResponse(recorded["body"], status_code=int(recorded.get("status", 200)))

    async def calls(request: Request) -> JSONResponse:
        return JSONResponse(state.calls.get(request.path_params["model"], []))

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/_calls/{model}", calls, methods=["GET"]),
        ]
    )


def _counts(call: dict[str, Any], refused: str | None) -> bool:
    """Requests refused for their response_format do not consume a recorded response."""
    return not (refused and (call.get("response_format") or {}).get("type") == refused)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ReplayServer:
    """Runs the replay app under uvicorn in a background thread (its own event loop)."""

    def __init__(self) -> None:
        self.state = ReplayState()
        self.port = free_port()
        self._server = uvicorn.Server(
            uvicorn.Config(
                build_app(self.state),
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="off",
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def calls(self, model: str) -> list[dict[str, Any]]:
        return list(self.state.calls.get(model, []))

    def start(self) -> ReplayServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the replay server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


if __name__ == "__main__":  # python -m tests.replay_server.server: a manual check
    server = ReplayServer().start()
    print(f"replaying on {server.base_url}; Ctrl-C stops")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        server.stop()
