"""The gateway's own endpoints (FastAPI): /auth/*, health, readiness, metrics, OpenAPI, docs.

/metrics and the readiness detail answer on the metrics listener only (`web.ops`)."""

import json
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse

from taskflow_auth_gateway.application.code_flow import DevAuthorizationServer
from taskflow_auth_gateway.application.ports import (
    IdentityError,
    IdentityProvider,
    RateLimiter,
    Upstream,
)
from taskflow_auth_gateway.interfaces.http.dev_oidc import dev_oidc_router
from taskflow_auth_gateway.interfaces.http.openapi import OpenApiAggregator
from taskflow_auth_gateway.interfaces.http.schemas import (
    LoginRequest,
    Me,
    RefreshRequest,
    TokenResponse,
    UserPublic,
    UserRegister,
)
from taskflow_common.auth import InvalidTokenError, JwtVerifier, Principal
from taskflow_common.health import ReadinessCheck
from taskflow_common.problems import Problem, ProblemError, unauthorized
from taskflow_common.web import (
    RequestMetricsMiddleware,
    document_problem_responses,
    install_problem_handlers,
    ops_router,
)
from taskflow_common.web.errors import problem_response

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


@dataclass
class GatewayContext:
    identity: IdentityProvider
    tokens: JwtVerifier
    upstreams: Mapping[str, Upstream]
    limiter: RateLimiter | None
    # The development provider publishes its keys; Keycloak publishes its own.
    jwks: Callable[[], Mapping[str, Any]] | None = None
    openid_configuration: Callable[[], Mapping[str, Any]] | None = None
    openapi: OpenApiAggregator | None = None
    # The development provider's authorization server (embedded mode: the admin's sign-in).
    authorization_server: DevAuthorizationServer | None = None


def build_api(ctx: GatewayContext, lifespan: Lifespan) -> FastAPI:
    app = FastAPI(
        title="TaskFlow gateway",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    install_problem_handlers(app)

    async def on_identity_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, IdentityError)
        kinds = {
            409: "conflict",
            422: "password-policy",
            401: "invalid-credentials",
            503: "identity-unavailable",
        }
        problem = Problem(
            status=exc.status, type=kinds.get(exc.status, "identity-error"), detail=exc.detail
        )
        return problem_response(problem, instance=request.url.path)

    app.add_exception_handler(IdentityError, on_identity_error)
    app.add_middleware(RequestMetricsMiddleware, service="auth-gateway")
    app.include_router(_auth_router(ctx))
    if ctx.authorization_server is not None:
        app.include_router(dev_oidc_router(ctx.authorization_server))
    app.include_router(ops_router(lambda: _readiness_checks(ctx)))
    app.include_router(_service_health_router(ctx))
    app.include_router(_docs_router(ctx))
    return app


def own_openapi(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(title=app.title, version="1", routes=app.routes)
    for path, item in spec.get("paths", {}).items():
        if path == "/auth/me":
            for operation in item.values():
                operation["security"] = [{"bearer": []}]
    return document_problem_responses(spec)


def _auth_router(ctx: GatewayContext) -> APIRouter:
    router = APIRouter(prefix="/auth", tags=["auth"])

    async def current_principal(request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("A bearer token is required.")
        try:
            return await ctx.tokens.averify(token.strip())
        except InvalidTokenError as exc:
            raise unauthorized("The bearer token is invalid or expired.") from exc

    caller = Annotated[Principal, Depends(current_principal)]

    @router.post(
        "/register",
        status_code=201,
        response_model=UserPublic,
        responses={
            409: {"description": "Username or email taken."},
            422: {"description": "Invalid data or password refused by the password policy."},
        },
    )
    async def register(body: UserRegister) -> UserPublic:
        user = await ctx.identity.register(body.username, body.email, body.password)
        return UserPublic(id=user.id, username=user.username, email=user.email)

    @router.post(
        "/login",
        response_model=TokenResponse,
        responses={401: {"description": "Unknown user or wrong password."}},
    )
    async def login(body: LoginRequest) -> TokenResponse:
        tokens = await ctx.identity.login(body.username, body.password)
        return TokenResponse(**tokens.__dict__)

    @router.post(
        "/refresh",
        response_model=TokenResponse,
        responses={401: {"description": "Refresh token invalid, expired or revoked."}},
    )
    async def refresh(body: RefreshRequest) -> TokenResponse:
        tokens = await ctx.identity.refresh(body.refresh_token)
        return TokenResponse(**tokens.__dict__)

    @router.post(
        "/logout",
        status_code=204,
        responses={401: {"description": "Refresh token invalid or already revoked."}},
    )
    async def logout(body: RefreshRequest) -> Response:
        await ctx.identity.logout(body.refresh_token)
        return Response(status_code=204)

    @router.get(
        "/me",
        response_model=Me,
        responses={401: {"description": "Missing, invalid or expired bearer token."}},
    )
    async def me(principal: caller) -> Me:
        return Me(
            id=principal.sub,
            username=principal.username,
            email=principal.email,
            roles=sorted(principal.roles),
        )

    if ctx.jwks is not None:
        jwks = ctx.jwks

        @router.get("/jwks", summary="The development identity provider's signing keys")
        async def jwks_document() -> JSONResponse:
            return JSONResponse(dict(jwks()))

    return router


def _readiness_checks(ctx: GatewayContext) -> list[ReadinessCheck]:
    checks = [ReadinessCheck("identity", ctx.identity.check)]
    if ctx.limiter is not None:
        checks.append(ReadinessCheck("rate-limiter", ctx.limiter.check))
    for name, upstream in ctx.upstreams.items():
        checks.append(ReadinessCheck(f"upstream:{name}", _healthy(upstream)))
    return checks


def _healthy(upstream: Upstream) -> Callable[[], Any]:
    async def probe() -> None:
        status, _ = await upstream.get("/healthz")
        if status != 200:
            raise RuntimeError(f"/healthz answered {status}")

    return probe


def _service_health_router(ctx: GatewayContext) -> APIRouter:
    """/healthz/{service} and /readyz/{service}: whether each upstream lives and is ready.

    Only the verdict crosses the gateway: the answer is rebuilt from the upstream's status code,
    never its body, and an unreachable upstream is named without the connection error. The
    reasons are for operators, on the upstream's own metrics port.
    """
    router = APIRouter(include_in_schema=False)

    async def relay(service: str, path: str, verdicts: tuple[str, str]) -> JSONResponse:
        upstream = ctx.upstreams.get(service)
        if upstream is None:
            raise ProblemError(
                Problem(status=404, type="not-found", detail=f"No service named {service!r}.")
            )
        try:
            status, _body = await upstream.get(path)
        except Exception as exc:
            raise ProblemError(
                Problem(
                    status=503, type="upstream-unavailable", detail=f"{service} is unreachable."
                )
            ) from exc
        good, bad = verdicts
        if status == 200:
            return JSONResponse({"status": good})
        return JSONResponse({"status": bad}, status_code=503)

    @router.get("/healthz/{service}")
    async def service_health(service: str) -> JSONResponse:
        return await relay(service, "/healthz", ("ok", "down"))

    @router.get("/readyz/{service}")
    async def service_ready(service: str) -> JSONResponse:
        return await relay(service, "/readyz", ("ready", "not ready"))

    return router


def _docs_router(ctx: GatewayContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi_document() -> Response:
        assert ctx.openapi is not None
        body = json.dumps(ctx.openapi.document(), separators=(",", ":"))
        return Response(body, media_type="application/json")

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="TaskFlow API")

    if ctx.openid_configuration is not None:
        discovery = ctx.openid_configuration
        server = ctx.authorization_server

        @router.get("/.well-known/openid-configuration")
        async def openid_configuration() -> JSONResponse:
            document = dict(discovery())
            if server is not None:
                document.update(server.discovery())
            return JSONResponse(document)

    return router
