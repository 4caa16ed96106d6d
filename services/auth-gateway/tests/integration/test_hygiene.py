"""CORS allow-list, security headers, URL and header limits, per-IP limits on /auth."""

import httpx
from gateway_support import dev_gateway, serving, serving_listeners, upstream_app

from taskflow_auth_gateway.infrastructure.upstream.http import HttpUpstream


async def test_cors_answers_only_allowed_origins(tmp_path):
    async with serving(upstream_app()) as upstream_url:
        app, _ = dev_gateway(
            tmp_path,
            {"tasks": HttpUpstream("tasks", upstream_url)},
            cors_allow_origins=["https://app.example"],
        )
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            preflight = {
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            }
            allowed = await client.options(
                "/api/v1/tasks", headers={"origin": "https://app.example", **preflight}
            )
            refused = await client.options(
                "/api/v1/tasks", headers={"origin": "https://evil.example", **preflight}
            )
            simple = await client.get("/healthz", headers={"origin": "https://app.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in refused.headers
    assert simple.headers["access-control-allow-origin"] == "https://app.example"
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_security_headers_and_size_limits(tmp_path):
    app, _ = dev_gateway(tmp_path, {})
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        health = await client.get("/healthz")
        long_url = await client.get("/healthz?q=" + "a" * 9000)
        many = await client.get("/healthz", headers={f"x-h{i}": "1" for i in range(120)})
        docs = await client.get("/docs")
    assert health.headers["x-content-type-options"] == "nosniff"
    assert health.headers["x-frame-options"] == "DENY"
    assert health.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in health.headers["content-security-policy"]
    assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert long_url.status_code == 414
    assert many.status_code == 431
    for response in (long_url, many):
        assert response.headers["content-type"] == "application/problem+json"


async def test_auth_endpoints_are_limited_per_ip(tmp_path):
    app, _ = dev_gateway(tmp_path, {})
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        statuses = [
            (await client.post("/auth/login", json={"username": "x", "password": "y"})).status_code
            for _ in range(11)
        ]
        limited = await client.post("/auth/login", json={"username": "x", "password": "y"})
        # A different group (the JWKS) is not limited.
        assert (await client.get("/auth/jwks")).status_code == 200
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["ratelimit-limit"] == "10"


async def test_identity_provider_down_is_503_not_500():
    from gateway_support import free_port, keycloak_gateway

    dead = f"http://127.0.0.1:{free_port()}"
    app = keycloak_gateway({}, keycloak_url=dead, oidc_jwks_url=f"{dead}/certs")
    async with (
        serving_listeners(app) as (url, metrics_url),
        httpx.AsyncClient(base_url=url) as client,
    ):
        login = await client.post("/auth/login", json={"username": "a", "password": "b"})
        register = await client.post(
            "/auth/register",
            json={"username": "abc", "email": "abc@example.test", "password": "long-enough-1"},
        )
        ready = await client.get("/readyz")
        detailed = await client.get(f"{metrics_url}/readyz")
        token_check = await client.get("/api/v1/tasks", headers={"authorization": "Bearer x.y.z"})
    assert login.status_code == 503
    assert register.status_code == 503
    assert login.headers["content-type"] == "application/problem+json"
    assert (ready.status_code, ready.json()) == (503, {"status": "not ready"})
    assert detailed.json()["checks"]["identity"].startswith("down")
    assert token_check.status_code == 401


async def test_redis_down_lets_requests_through_and_readyz_says_so(tmp_path):
    from gateway_support import free_port

    from taskflow_auth_gateway.bootstrap import create_app
    from taskflow_auth_gateway.config import GatewaySettings
    from taskflow_auth_gateway.infrastructure.identity.dev import DevIdentityProvider
    from taskflow_auth_gateway.infrastructure.ratelimit.redis import RedisRateLimiter

    settings = GatewaySettings(identity_provider="development", data_dir=tmp_path)
    app = create_app(
        settings,
        identity=DevIdentityProvider(data_dir=tmp_path, issuer=settings.public_url),
        upstreams={},
        limiter=RedisRateLimiter(f"redis://127.0.0.1:{free_port()}/0"),
    )
    async with (
        serving_listeners(app) as (url, metrics_url),
        httpx.AsyncClient(base_url=url) as client,
    ):
        # Fail open: a limiter outage must not become an API outage.
        login = await client.post("/auth/login", json={"username": "a", "password": "b"})
        ready = await client.get("/readyz")
        detailed = await client.get(f"{metrics_url}/readyz")
    assert login.status_code == 401
    assert (ready.status_code, ready.json()) == (503, {"status": "not ready"})
    assert detailed.json()["checks"]["rate-limiter"].startswith("down")
