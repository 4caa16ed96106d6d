"""Bearer tokens never reach notify's logs: uvicorn's access and WebSocket handshake lines
carry the raw query string, and browsers can only pass a token there (`?access_token=`)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from taskflow_common.process import start_observability


@pytest.fixture
def notify_log(notify_django: Any) -> Iterator[io.StringIO]:
    """notify's own logging set-up (as `python -m taskflow_notify serve` has it), at INFO so
    uvicorn's access lines are written, into a buffer; the test session's logging after."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    start_observability(notify_django.settings, "taskflow-notify")
    root.setLevel(logging.INFO)
    buffer = io.StringIO()
    for handler in root.handlers:
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(buffer)
    yield buffer
    root.handlers[:], root.level = saved_handlers, saved_level


@pytest.fixture
def logging_notify_server(notify_log: io.StringIO) -> Iterator[str]:
    """notify's ASGI app under uvicorn with uvicorn's default access log, as in production."""
    import uvicorn

    from taskflow_notify import bootstrap

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            bootstrap.build_asgi(), host="127.0.0.1", port=port, lifespan="off", log_config=None
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the notify server did not start"
        time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


async def test_tokens_in_query_strings_are_redacted_from_access_and_handshake_lines(
    logging_notify_server: str, notify_log: io.StringIO, notify_test_issuer: Any, nh: Any
) -> None:
    token = notify_test_issuer.token(nh.new_user_id())
    signature = token.rsplit(".", 1)[1]

    # Accepted or refused, the handshake line is written either way.
    with contextlib.suppress(websockets.InvalidStatus, websockets.ConnectionClosed):
        async with websockets.connect(
            f"ws://{logging_notify_server}/ws/notifications?access_token={token}"
        ) as ws:
            await ws.close()
    async with httpx.AsyncClient() as client:
        await client.get(
            f"http://{logging_notify_server}/api/v1/notifications?access_token={token}&limit=1"
        )
    await asyncio.sleep(0.2)  # uvicorn writes the access line after the response

    written = notify_log.getvalue()
    assert "/ws/notifications" in written
    assert "/api/v1/notifications" in written
    assert "access_token=REDACTED" in written
    assert signature not in written
