"""The dashboard's figures: each service's readiness and admin stats, fetched side by side.

Every service is asked at once (a thread each), each with the upstream timeout, so one slow or
down service delays the page by at most that timeout and shows as down; the others still
render. Stats are the same for every administrator and are cached briefly (Django's cache),
so a dashboard reloaded by several admins costs the services one call per period; readiness
is cached for the same period.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from django.core.cache import cache

from taskflow_admin.upstream import ServiceClient, UpstreamError

CACHE_PREFIX = "taskflow_admin:dashboard:"


@dataclass(frozen=True)
class ServiceHealth:
    name: str
    ready: bool
    stats: dict[str, Any] | None
    problem: str | None

    def public(self) -> dict[str, Any]:
        return asdict(self)


def _ready(client: ServiceClient) -> bool:
    try:
        client.call("GET", "/readyz", None)
    except UpstreamError:
        return False
    return True


def _health(client: ServiceClient, token: str) -> ServiceHealth:
    ready = _ready(client)
    try:
        stats = client.json("GET", "/api/v1/admin/stats", token)
        problem = None
    except UpstreamError as exc:
        stats, problem = None, str(exc)
    return ServiceHealth(client.name, ready, stats if isinstance(stats, dict) else None, problem)


def services_health(
    clients: dict[str, ServiceClient], token: str, *, cache_seconds: float
) -> list[ServiceHealth]:
    """Each service's health, in the order given; cached per service for `cache_seconds`."""
    found: dict[str, ServiceHealth] = {}
    missing = []
    for name in clients:
        cached = cache.get(CACHE_PREFIX + name)
        if cached is not None:
            found[name] = ServiceHealth(**cached)
        else:
            missing.append(name)
    if missing:
        with ThreadPoolExecutor(max_workers=len(missing)) as pool:
            fresh = list(pool.map(lambda n: _health(clients[n], token), missing))
        for health in fresh:
            found[health.name] = health
            # A failed stats call is not cached: the next page asks again.
            if health.problem is None:
                cache.set(CACHE_PREFIX + health.name, health.public(), cache_seconds)
    return [found[name] for name in clients]


def forget() -> None:
    cache.delete_many([CACHE_PREFIX + n for n in ("tasks", "notify", "suggest")])


@dataclass(frozen=True)
class Chart:
    """A created-vs-completed line chart as inline SVG coordinates (no script, no CDN)."""

    width: int
    height: int
    created: str  # polyline points
    completed: str
    peak: int
    first_day: str
    last_day: str
    days: list[dict[str, Any]]


def day_chart(per_day: list[dict[str, Any]], width: int = 600, height: int = 160) -> Chart | None:
    if not per_day:
        return None
    peak = max(max(int(d.get("created", 0)), int(d.get("completed", 0))) for d in per_day) or 1
    step = width / max(len(per_day) - 1, 1)

    def points(key: str) -> str:
        return " ".join(
            f"{i * step:.1f},{height - int(d.get(key, 0)) / peak * height:.1f}"
            for i, d in enumerate(per_day)
        )

    return Chart(
        width=width,
        height=height,
        created=points("created"),
        completed=points("completed"),
        peak=peak,
        first_day=str(per_day[0].get("date", "")),
        last_day=str(per_day[-1].get("date", "")),
        days=per_day,
    )
