"""The top of the gateway: send each request to the proxy or to the gateway's own API."""

from __future__ import annotations

from taskflow_auth_gateway.application.ports import Receive, Scope, Send
from taskflow_auth_gateway.domain.routes import (
    TOKEN_REQUIRED_PREFIXES,
    RouteTable,
    has_dot_segments,
)
from taskflow_auth_gateway.interfaces.http.limits import AUTH_GROUPS, RateLimits
from taskflow_auth_gateway.interfaces.http.proxy import Proxy
from taskflow_auth_gateway.interfaces.http.responses import send_problem
from taskflow_common.problems import Problem


class GatewayRouter:
    def __init__(
        self, *, routes: RouteTable, proxy: Proxy, limits: RateLimits, api: object
    ) -> None:
        self.routes = routes
        self.proxy = proxy
        self.limits = limits
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.api(scope, receive, send)  # type: ignore[operator]
            return
        path: str = scope["path"]
        if has_dot_segments(path):
            await send_problem(
                scope,
                send,
                Problem(
                    status=400, type="bad-path", detail="Dot segments are not allowed in paths."
                ),
            )
            return
        group = AUTH_GROUPS.get(path.rstrip("/"))
        if group is not None:
            decision = await self.limits.hit(group, f"ip:{scope['taskflow.client_ip']}")
            if decision is not None and not decision.allowed:
                await self.limits.refuse(scope, send, decision, group)
                return
        route = self.routes.match(path)
        if route is not None:
            await self.proxy(scope, receive, send, route)
            return
        if path.startswith(TOKEN_REQUIRED_PREFIXES):
            if await self.proxy.authenticate(scope, send) is not None:
                await send_problem(
                    scope,
                    send,
                    Problem(status=404, type="not-found", detail="No service serves this path."),
                )
            return
        await self.api(scope, receive, send)  # type: ignore[operator]
