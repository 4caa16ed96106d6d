"""Bad input to /auth/* is a clear 4xx problem, never a 5xx (development identity)."""

import httpx
from gateway_support import dev_gateway, serving

BAD_BODIES = [
    b"",
    b"not json",
    b"[]",
    b"null",
    b'"string"',
    b"{}",
    b'{"username": null, "password": null}',
    b'{"username": 1, "password": 2}',
    b'{"username": "a", "password": "b", "extra": true}',
    b'{"username": "' + b"x" * 5000 + b'", "password": "y"}',
    b'{"username": "\\u0000", "password": "\\ud800"}',
    b'{"refresh_token": ""}',
    b'{"refresh_token": ["a"]}',
    b'{"username": "ok", "email": "not-an-email", "password": "long-enough-1"}',
    b'{"username": "bad name!", "email": "a@b.example", "password": "long-enough-1"}',
    b"{" * 1000,
]


async def test_malformed_bodies_are_4xx_problems(tmp_path):
    app, _ = dev_gateway(
        tmp_path,
        {},
        rate_limits={
            "auth_credentials": {"rate": 1000, "period_seconds": 1, "burst": 1000},
            "auth_session": {"rate": 1000, "period_seconds": 1, "burst": 1000},
        },
    )
    outcomes = {}
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        for path in ("/auth/register", "/auth/login", "/auth/refresh", "/auth/logout"):
            for body in BAD_BODIES:
                response = await client.post(
                    path, content=body, headers={"content-type": "application/json"}
                )
                outcomes[(path, body[:40])] = response.status_code
                assert response.headers["content-type"] == "application/problem+json"
        wrong_type = await client.post(
            "/auth/login", content=b"a=b", headers={"content-type": "text/plain"}
        )
    assert all(400 <= status < 500 for status in outcomes.values()), outcomes
    assert 400 <= wrong_type.status_code < 500
