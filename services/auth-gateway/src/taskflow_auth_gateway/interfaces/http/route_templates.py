"""Route templates for the proxied traffic's metrics, with a bounded number of label values.

The gateway routes by prefix and does not know the services' routes, so a template is the
request's path with its identifiers replaced (`/api/v1/tasks/{id}/activity`). A raw path must
never become a label value (ids, or a scanner's junk, would grow the series without end): a
template becomes a label only once an upstream has answered it with a success or a redirect
(the upstream has that route), and at most `limit` templates ever do; anything else is counted
under its gateway route (`/api/v1/tasks*`).
"""

from __future__ import annotations

import re

from taskflow_auth_gateway.domain.routes import Route

# UUIDs, hex digests and numbers: the identifiers TaskFlow's paths carry.
_IDENTIFIER = re.compile(r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|[0-9a-fA-F]{16,}|\d+)$")
DEFAULT_LIMIT = 200


def template_of(path: str) -> str:
    """The path with each identifier segment replaced by `{id}`."""
    return "/".join("{id}" if _IDENTIFIER.match(s) else s for s in path.split("/"))


class RouteTemplates:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._known: set[str] = set()
        self._limit = limit

    def label(self, route: Route, path: str, status: int) -> str:
        template = template_of(path)
        if template in self._known:
            return template
        if 200 <= status < 400 and len(self._known) < self._limit:
            self._known.add(template)
            return template
        return route.label
