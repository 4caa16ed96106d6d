"""Redis unreachable or refusing us: the limiter fails open at once, not a timeout per caller.

Counts, not clocks: a remembered failure means at most one connect attempt per back-off window
however many requests arrive together; before, each queued request made its own attempt.
"""

import asyncio
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from taskflow_auth_gateway.domain.ratelimit import Quota
from taskflow_auth_gateway.infrastructure.ratelimit.redis import RedisRateLimiter
from taskflow_auth_gateway.interfaces.http.limits import RateLimits
from taskflow_auth_gateway.interfaces.http.metrics import RATE_LIMITER_ERRORS

CONCURRENT = 20
QUOTAS = {"api": Quota(rate=100, period_seconds=1, burst=200)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def full_backlog_port() -> Iterator[int]:
    """A port whose accept queue is full: new SYNs are dropped, connects hang (a black hole)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):  # more than the queue holds; the extra connects just stay pending
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in (*fillers, listener):
        sock.close()


@pytest.fixture
async def silent_listener() -> AsyncIterator[tuple[int, list[int]]]:
    """Accepts connections and never answers; counts the connections it accepted."""
    accepted: list[int] = []
    writers: list[asyncio.StreamWriter] = []

    async def on_connect(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        writers.append(writer)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, accepted
    for writer in writers:
        writer.close()
    server.close()


@pytest.fixture(scope="module")
def password_redis() -> Iterator[int]:
    """A second, real redis-server with requirepass (the stack's Redis has no password)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server not found: install it with `scripts/stack up redis` (apt)")
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--requirepass",
                "right-secret",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        pytest.fail(f"redis-server on port {port} did not start")
                    time.sleep(0.02)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=10)


async def concurrent_hits(url: str, *, backoff: float = 60.0) -> tuple[list, RedisRateLimiter]:
    limiter = RedisRateLimiter(url, prefix="test:fail-open:", timeout=0.2, backoff=backoff)
    await limiter.start()
    limits = RateLimits(limiter, QUOTAS)
    try:
        decisions = await asyncio.gather(
            *(limits.hit("api", f"user:{i}") for i in range(CONCURRENT))
        )
    finally:
        await limiter.close()
    return list(decisions), limiter


async def test_a_black_holed_redis_gets_one_connect_attempt_for_many_concurrent_requests(
    full_backlog_port,
):
    errors_before = RATE_LIMITER_ERRORS._value.get()

    decisions, limiter = await concurrent_hits(f"redis://127.0.0.1:{full_backlog_port}/0")

    assert decisions == [None] * CONCURRENT  # every request let through (fail open)
    assert limiter.connect_attempts == 1
    assert RATE_LIMITER_ERRORS._value.get() - errors_before == CONCURRENT


async def test_a_silent_redis_gets_one_connection_for_many_concurrent_requests(silent_listener):
    port, accepted = silent_listener

    decisions, _ = await concurrent_hits(f"redis://127.0.0.1:{port}/0")

    assert decisions == [None] * CONCURRENT
    assert len(accepted) == 1


async def test_after_the_backoff_window_redis_is_tried_again(silent_listener):
    port, _accepted = silent_listener
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0", timeout=0.05, backoff=0.01)
    await limiter.start()
    limits = RateLimits(limiter, QUOTAS)
    try:
        assert await limits.hit("api", "user:a") is None
        await asyncio.sleep(0.05)  # past the (tiny) back-off: the next request tries again
        assert await limits.hit("api", "user:a") is None
    finally:
        await limiter.close()

    assert limiter.connect_attempts == 2


async def test_a_wrong_password_fails_open_and_leaves_no_connection_in_use(password_redis):
    limiter = RedisRateLimiter(
        f"redis://:wrong-secret@127.0.0.1:{password_redis}/0", timeout=0.5, backoff=60
    )
    admin = RedisRateLimiter(f"redis://:right-secret@127.0.0.1:{password_redis}/0")
    await limiter.start()
    await admin.start()
    limits = RateLimits(limiter, QUOTAS)
    try:
        decisions = await asyncio.gather(
            *(limits.hit("api", f"user:{i}") for i in range(CONCURRENT))
        )
        assert admin._redis is not None
        clients = (await admin._redis.command("CLIENT", "LIST")).decode().strip().splitlines()
    finally:
        await limiter.close()
        await admin.close()

    assert decisions == [None] * CONCURRENT
    assert limiter.connect_attempts == 1
    # Only the admin's connection: the one whose AUTH failed was closed, not kept for use.
    assert len(clients) == 1, clients


async def test_the_right_password_on_a_database_other_than_zero_limits(password_redis):
    limiter = RedisRateLimiter(
        f"redis://:right-secret@127.0.0.1:{password_redis}/3", prefix="test:auth:"
    )
    await limiter.start()
    try:
        decision = await limiter.hit("api:user-1", Quota(rate=1, period_seconds=60, burst=1))
        refused = await limiter.hit("api:user-1", Quota(rate=1, period_seconds=60, burst=1))
    finally:
        await limiter.close()

    assert decision.allowed
    assert not refused.allowed
