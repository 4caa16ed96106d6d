"""Reading what reached the real Mailpit (its HTTP API), for notify's tests."""

from __future__ import annotations

from typing import Any

import httpx

MAILPIT_API = "http://127.0.0.1:8025/api/v1"


def messages_to(address: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{MAILPIT_API}/search", params={"query": f'to:"{address}"'}, timeout=10)
    response.raise_for_status()
    return list(response.json().get("messages") or [])


def message(message_id: str) -> dict[str, Any]:
    response = httpx.get(f"{MAILPIT_API}/message/{message_id}", timeout=10)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body
