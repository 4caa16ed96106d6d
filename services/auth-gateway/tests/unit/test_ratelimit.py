from taskflow_auth_gateway.domain.ratelimit import Quota, gcra
from taskflow_auth_gateway.infrastructure.ratelimit.memory import InMemoryRateLimiter

LOGIN = Quota(rate=10, period_seconds=60, burst=10)


def run(quota: Quota, times: list[float]) -> list[bool]:
    tat = None
    allowed = []
    for now in times:
        decision, new_tat = gcra(tat, now, quota)
        allowed.append(decision.allowed)
        if new_tat is not None:
            tat = new_tat
    return allowed


def test_a_full_burst_passes_and_the_next_request_is_refused():
    assert run(LOGIN, [0.0] * 11) == [True] * 10 + [False]


def test_the_bucket_refills_at_the_rate():
    # 10 per minute: one new request every 6 seconds once the burst is used.
    results = run(LOGIN, [0.0] * 10 + [5.9, 6.0, 6.1, 12.0])
    assert results[10:] == [False, True, False, True]


def test_remaining_counts_down_and_retry_after_says_when():
    tat = None
    remaining = []
    for _ in range(10):
        decision, tat = gcra(tat, 100.0, LOGIN)
        remaining.append(decision.remaining)
    assert remaining == list(range(9, -1, -1))
    refused, state = gcra(tat, 101.0, LOGIN)
    assert not refused.allowed
    assert state is None
    assert refused.retry_after == 5.0
    headers = dict(refused.headers())
    assert headers["Retry-After"] == "5"
    assert headers["RateLimit-Limit"] == "10"
    assert headers["RateLimit-Remaining"] == "0"


def test_sustained_rate_never_exceeds_quota():
    api = Quota(rate=100, period_seconds=1, burst=200)
    # 1000 requests/s offered for 3 s: burst + rate * elapsed may pass, never more.
    times = [i / 1000 for i in range(3000)]
    accepted = sum(run(api, times))
    assert accepted <= 200 + 100 * 3


def test_refused_requests_do_not_consume_the_bucket():
    tat = None
    for _ in range(10):
        _, tat = gcra(tat, 0.0, LOGIN)
    for now in (1.0, 2.0, 3.0):
        decision, state = gcra(tat, now, LOGIN)
        assert not decision.allowed
        assert state is None
    decision, _ = gcra(tat, 6.0, LOGIN)
    assert decision.allowed


async def test_in_memory_limiter_keeps_keys_apart():
    now = [0.0]
    limiter = InMemoryRateLimiter(clock=lambda: now[0])
    quota = Quota(rate=1, period_seconds=1, burst=2)
    assert [(await limiter.hit("a", quota)).allowed for _ in range(3)] == [True, True, False]
    assert (await limiter.hit("b", quota)).allowed
    now[0] = 1.0
    assert (await limiter.hit("a", quota)).allowed
