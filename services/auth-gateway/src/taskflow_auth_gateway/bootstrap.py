"""The composition root: the one place where the gateway's adapters are chosen and wired.

`create_app(settings)` builds the distributed gateway (Keycloak, Redis, HTTP upstreams);
the embedded entry point passes its own identity provider, in-process upstreams and an
in-memory limiter instead.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from taskflow_auth_gateway.application.code_flow import DevAuthorizationServer
from taskflow_auth_gateway.application.ports import IdentityProvider, RateLimiter, Upstream
from taskflow_auth_gateway.config import GatewaySettings
from taskflow_auth_gateway.domain.headers import TrustedProxies
from taskflow_auth_gateway.domain.ratelimit import Quota
from taskflow_auth_gateway.domain.routes import RouteTable
from taskflow_auth_gateway.infrastructure.identity.dev import DevIdentityProvider
from taskflow_auth_gateway.infrastructure.identity.keycloak import KeycloakIdentityProvider
from taskflow_auth_gateway.infrastructure.ratelimit.memory import InMemoryRateLimiter
from taskflow_auth_gateway.infrastructure.ratelimit.redis import RedisRateLimiter
from taskflow_auth_gateway.infrastructure.upstream.http import HttpUpstream
from taskflow_auth_gateway.interfaces.http.api import GatewayContext, build_api, own_openapi
from taskflow_auth_gateway.interfaces.http.edge import EdgeMiddleware
from taskflow_auth_gateway.interfaces.http.limits import RateLimits
from taskflow_auth_gateway.interfaces.http.openapi import OpenApiAggregator
from taskflow_auth_gateway.interfaces.http.proxy import Proxy
from taskflow_auth_gateway.interfaces.http.router import GatewayRouter
from taskflow_common.auth import JwksSource
from taskflow_common.auth.jwks import static_jwks_source
from taskflow_common.process import verifier_from_settings

log = logging.getLogger(__name__)

CORS_ALLOW_HEADERS = [
    "authorization",
    "content-type",
    "x-request-id",
    "idempotency-key",
    "if-match",
    "if-none-match",
    "traceparent",
    "tracestate",
]
CORS_EXPOSE_HEADERS = [
    "x-request-id",
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "etag",
    "location",
    "traceresponse",
]


def build_identity(settings: GatewaySettings) -> IdentityProvider:
    if settings.identity_provider == "development":
        return DevIdentityProvider(
            data_dir=settings.data_dir,
            issuer=settings.public_url,
            audience=settings.oidc_audience,
            environment=settings.env,
        )
    return KeycloakIdentityProvider(
        base_url=settings.keycloak_url,
        realm=settings.keycloak_realm,
        client_id=settings.keycloak_gateway_client_id,
        client_secret=settings.keycloak_gateway_secret.get_secret_value(),
    )


def build_upstreams(settings: GatewaySettings) -> dict[str, Upstream]:
    urls = {
        "tasks": settings.tasks_url,
        "suggest": settings.suggest_url,
        "notify": settings.notify_url,
        "admin": settings.admin_url,
    }
    return {
        name: HttpUpstream(
            name,
            url,
            connect_timeout=settings.upstream_connect_timeout_seconds,
            read_timeout=settings.upstream_timeout_seconds,
            pool_size=settings.upstream_pool_size,
        )
        for name, url in urls.items()
    }


def build_limiter(settings: GatewaySettings) -> RateLimiter | None:
    if settings.rate_limiter == "redis":
        return RedisRateLimiter(
            settings.redis_url,
            timeout=settings.rate_limiter_timeout_seconds,
            backoff=settings.rate_limiter_backoff_seconds,
        )
    if settings.rate_limiter == "memory":
        return InMemoryRateLimiter()
    return None


def create_app(
    settings: GatewaySettings | None = None,
    *,
    identity: IdentityProvider | None = None,
    upstreams: Mapping[str, Upstream] | None = None,
    limiter: RateLimiter | None = None,
    jwks: JwksSource | None = None,
    routes: RouteTable | None = None,
    log_access: bool = True,
    authorization_server: DevAuthorizationServer | None = None,
) -> Any:
    """The gateway as one ASGI app. Nothing connects until its lifespan starts."""
    settings = settings or GatewaySettings()
    identity = identity or build_identity(settings)
    upstreams = dict(upstreams) if upstreams is not None else build_upstreams(settings)
    limiter = limiter if limiter is not None else build_limiter(settings)
    routes = routes or RouteTable()

    issuer = settings.oidc_issuer
    if isinstance(identity, DevIdentityProvider):
        issuer = identity.issuer
        jwks = jwks or static_jwks_source(identity.jwks)
    # The verifier remembers verified tokens: one signature check per token and process.
    tokens = verifier_from_settings(settings, jwks=jwks, issuer=issuer)
    quotas = {
        group: Quota(rule.rate, rule.period_seconds, rule.burst)
        for group, rule in settings.rate_limits.items()
    }
    limits = RateLimits(limiter, quotas)
    ctx = GatewayContext(
        identity=identity,
        tokens=tokens,
        upstreams=upstreams,
        limiter=limiter,
        jwks=identity.jwks if isinstance(identity, DevIdentityProvider) else None,
        openid_configuration=identity.openid_configuration
        if isinstance(identity, DevIdentityProvider)
        else None,
        authorization_server=authorization_server,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            await identity.start()
            stack.push_async_callback(identity.close)
            if limiter is not None:
                await limiter.start()
                stack.push_async_callback(limiter.close)
            for upstream in upstreams.values():
                await upstream.start()
                stack.push_async_callback(upstream.close)
            assert ctx.openapi is not None
            await ctx.openapi.start()
            stack.push_async_callback(ctx.openapi.close)
            yield

    api = build_api(ctx, lifespan)
    ctx.openapi = OpenApiAggregator(
        upstreams=upstreams,
        routes=routes,
        own_spec=lambda: own_openapi(api),
        refresh_seconds=settings.openapi_refresh_seconds,
    )
    app: Any = GatewayRouter(
        routes=routes,
        proxy=Proxy(upstreams=upstreams, tokens=tokens, limits=limits),
        limits=limits,
        api=api,
    )
    if settings.cors_allow_origins:
        app = CORSMiddleware(
            app,
            allow_origins=settings.cors_allow_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
            max_age=600,
        )
    return EdgeMiddleware(
        app,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        max_header_count=settings.max_header_count,
        max_url_bytes=settings.max_url_bytes,
        trusted_proxies=TrustedProxies(settings.trusted_proxies),
        log_access=log_access,
    )
