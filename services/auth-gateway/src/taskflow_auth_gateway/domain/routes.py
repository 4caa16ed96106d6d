"""Which upstream serves which path, and what the edge demands before forwarding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    prefix: str
    upstream: str
    # JWT at the edge for /api/* and /ws/*; the admin web UI has its own OIDC login.
    requires_token: bool = True

    @property
    def label(self) -> str:
        return self.prefix + "*"


DEFAULT_ROUTES: tuple[Route, ...] = (
    Route("/api/v1/tasks", "tasks"),
    Route("/api/v1/projects", "tasks"),
    Route("/api/v1/labels", "tasks"),
    Route("/api/v1/suggestions", "suggest"),
    Route("/api/v1/notifications", "notify"),
    Route("/api/v1/webhooks", "notify"),
    Route("/ws/notifications", "notify"),
    Route("/api/v1/admin", "admin"),
    Route("/admin", "admin", requires_token=False),
    # The admin site's CSS, JS and images (WhiteNoise in the admin service).
    Route("/static/", "admin", requires_token=False),
)

# Paths under these prefixes always need a token, even when no route matches (then 404).
TOKEN_REQUIRED_PREFIXES = ("/api/", "/ws/")


class RouteTable:
    def __init__(self, routes: Sequence[Route] = DEFAULT_ROUTES) -> None:
        # Longest prefix first, so /api/v1/admin wins over a hypothetical /api/v1/a.
        self.routes = tuple(sorted(routes, key=lambda r: len(r.prefix), reverse=True))

    def match(self, path: str) -> Route | None:
        for route in self.routes:
            if path.startswith(route.prefix):
                return route
        return None

    def upstream_names(self) -> list[str]:
        return sorted({r.upstream for r in self.routes})


def has_dot_segments(path: str) -> bool:
    """`/api/v1/tasks/../admin` must not be matched as tasks and resolved elsewhere."""
    return any(segment in (".", "..") for segment in path.split("/"))
