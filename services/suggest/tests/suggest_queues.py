"""Cleanup of the queues the suggest tests declare (their own consumer names), so a test run
that died halfway does not leave a queue collecting every task event forever."""

from __future__ import annotations

import os
from urllib.parse import quote

import httpx

MANAGEMENT_URL = os.environ.get(
    "TASKFLOW_RABBITMQ_MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672/"
)
TEST_PREFIXES = ("taskflow.suggest-test-", "taskflow.suggest-e2e-")


def _client() -> httpx.Client:
    url = httpx.URL(MANAGEMENT_URL)
    return httpx.Client(
        base_url=f"{url.scheme}://{url.host}:{url.port}",
        auth=(url.username or "guest", url.password or "guest"),
        timeout=10.0,
    )


def delete_queues(*names: str) -> None:
    """Best effort: the broker may be restarting under another test."""
    try:
        with _client() as client:
            for name in names:
                client.delete(f"/api/queues/%2F/{quote(name, safe='')}")
    except httpx.HTTPError as exc:
        print(f"could not delete test queues {names}: {exc!r}")


def delete_stale_test_queues() -> None:
    """Queues of earlier suggest test runs that nobody consumes any more."""
    try:
        with _client() as client:
            response = client.get("/api/queues/%2F", params={"columns": "name,consumers"})
            if response.status_code != 200:
                return
            stale = [
                q["name"]
                for q in response.json()
                if q["name"].startswith(TEST_PREFIXES) and not q.get("consumers")
            ]
    except httpx.HTTPError:
        return
    if stale:
        delete_queues(*stale)


def consumer_count(queue: str) -> int:
    try:
        with _client() as client:
            response = client.get(f"/api/queues/%2F/{quote(queue, safe='')}")
    except httpx.HTTPError:
        return 0
    return int(response.json().get("consumers", 0)) if response.status_code == 200 else 0
