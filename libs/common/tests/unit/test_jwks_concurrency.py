"""Concurrent first verifications all see the keys that one refresh fetched."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from taskflow_common.auth import JwksCache


def _slow_source(document: dict[str, Any], started: threading.Event) -> Any:
    def fetch() -> dict[str, Any]:
        started.set()
        time.sleep(0.3)
        return document

    return fetch


def test_a_caller_arriving_during_a_refresh_waits_for_it() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "alg": "RS256"}
    started = threading.Event()
    cache = JwksCache(_slow_source({"keys": [jwk]}, started), min_refresh_interval=30)

    async def scenario() -> list[Any]:
        first = asyncio.create_task(asyncio.to_thread(cache.key_for, "k1"))
        await asyncio.to_thread(started.wait)
        assert cache.refreshing
        second = await asyncio.to_thread(cache.key_for, "k1")
        return [await first, second]

    keys = asyncio.run(scenario())
    assert all(k is not None for k in keys)
    assert cache.refresh_count == 1
