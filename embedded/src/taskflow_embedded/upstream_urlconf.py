"""notify and admin share one Django app in the embedded mode but stay two upstreams.

Both services serve `/openapi.json` and `/api/v1/admin/stats`; in one URLconf the first
pattern would answer for both, so the admin dashboard's aggregate and admin's API document
would be notify's. Each upstream name therefore marks its requests' ASGI scope with its own
service's URLconf, and a middleware hands that to Django's resolver (`request.urlconf`), so a
request reaches exactly the views it would reach in the distributed mode.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

SCOPE_KEY = "taskflow.urlconf"
URLCONFS = {"notify": "taskflow_notify.urls", "admin": "taskflow_admin.urls"}

Scope = dict[str, Any]
AsgiApp = Callable[[Scope, Any, Any], Awaitable[None]]


def for_upstream(app: AsgiApp, upstream: str) -> AsgiApp:
    """`app` as seen through the upstream `upstream` (notify or admin)."""
    urlconf = URLCONFS[upstream]

    async def marked(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, SCOPE_KEY: urlconf}
        await app(scope, receive, send)

    return marked


class UpstreamUrlconfMiddleware:
    """Resolve a marked request against its upstream's URLconf (unmarked: ROOT_URLCONF)."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        urlconf = getattr(request, "scope", {}).get(SCOPE_KEY)
        if urlconf is not None:
            request.urlconf = urlconf
        return await self.get_response(request)
