"""The development provider's authorization-code flow with PKCE, through the gateway app: the
login page, the code, the token exchange, the ID token, refresh, replay and logout."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from gateway_support import serving

from taskflow_auth_gateway.application.code_flow import (
    DevAuthorizationServer,
    OidcClient,
)
from taskflow_auth_gateway.bootstrap import create_app
from taskflow_auth_gateway.config import GatewaySettings
from taskflow_auth_gateway.infrastructure.identity.dev import DevIdentityProvider

PUBLIC = "http://suite.test"
CALLBACK = f"{PUBLIC}/admin/oidc/callback/"
CLIENT = OidcClient("taskflow-admin", "admin-secret", f"{PUBLIC}/admin/")


@pytest.fixture
async def gateway(tmp_path):
    settings = GatewaySettings(
        identity_provider="development",
        rate_limiter="memory",
        data_dir=tmp_path,
        public_url=PUBLIC,
    )
    identity = DevIdentityProvider(data_dir=tmp_path, issuer=PUBLIC)
    identity.ensure_administrator("admin", "admin-password-1")
    server = DevAuthorizationServer(identity, {CLIENT.client_id: CLIENT})
    app = create_app(settings, identity=identity, upstreams={}, authorization_server=server)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        yield client, identity


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _authorize_params(challenge: str, **overrides: str) -> dict[str, str]:
    return {
        "client_id": CLIENT.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid profile email",
        "state": "state-1",
        "nonce": "nonce-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }


def _hidden_fields(page: str) -> dict[str, str]:
    return {
        name: unescape(value)
        for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page)
    }


async def _code(client: httpx.AsyncClient, challenge: str, password: str = "admin-password-1"):
    page = await client.get("/auth/oidc/authorize", params=_authorize_params(challenge))
    assert page.status_code == 200, page.text
    form = {**_hidden_fields(page.text), "username": "admin", "password": password}
    return await client.post("/auth/oidc/login", data=form)


def _exchange(code: str, verifier: str, **overrides: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
        "client_id": CLIENT.client_id,
        "client_secret": CLIENT.secret,
        **overrides,
    }


def _refresh_form(refresh_token: str) -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": CLIENT.client_id,
        "client_secret": CLIENT.secret,
    }


def _code_of(redirect: httpx.Response) -> str:
    assert redirect.status_code == 303, redirect.text
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["state-1"]
    return query["code"][0]


async def test_a_signed_in_administrator_gets_tokens_for_the_code(gateway):
    client, identity = gateway
    verifier, challenge = _pkce()
    page = await client.get("/auth/oidc/authorize", params=_authorize_params(challenge))
    assert 'id="taskflow-login"' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    code = _code_of(await _code(client, challenge))

    answer = await client.post("/auth/oidc/token", data=_exchange(code, verifier))

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    tokens = answer.json()
    key = jwt.PyJWK(identity.jwks()["keys"][0])
    id_claims = jwt.decode(tokens["id_token"], key, algorithms=["RS256"], audience="taskflow-admin")
    assert id_claims["nonce"] == "nonce-1"
    assert id_claims["preferred_username"] == "admin"
    access = jwt.decode(tokens["access_token"], key, algorithms=["RS256"], audience="taskflow-api")
    assert "admin" in access["realm_access"]["roles"]
    assert tokens["expires_in"] == 300
    refreshed = await client.post(
        "/auth/oidc/token",
        data=_refresh_form(tokens["refresh_token"]),
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["access_token"]


async def test_a_wrong_password_shows_the_form_again_and_issues_no_code(gateway):
    client, _ = gateway
    _, challenge = _pkce()
    answer = await _code(client, challenge, password="not-the-password")
    assert answer.status_code == 401
    assert "Invalid username or password." in answer.text
    assert 'id="taskflow-login"' in answer.text
    assert "location" not in answer.headers


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "someone-else"},
        {"redirect_uri": "https://evil.test/admin/oidc/callback/"},
        {"redirect_uri": f"{PUBLIC}/api/v1/tasks"},
        {"redirect_uri": f"{PUBLIC}/admin/../auth/jwks"},
        {"code_challenge_method": "plain"},
        {"code_challenge": ""},
        {"response_type": "token"},
        {"scope": "profile"},
    ],
)
async def test_a_request_it_cannot_honour_is_refused_on_the_page_never_redirected(
    gateway, overrides
):
    client, _ = gateway
    _, challenge = _pkce()
    page = await client.get(
        "/auth/oidc/authorize", params=_authorize_params(challenge, **overrides)
    )
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "taskflow-login" not in page.text


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_verifier": "x" * 50},
        {"redirect_uri": f"{PUBLIC}/admin/elsewhere/"},
    ],
)
async def test_a_code_needs_its_verifier_and_redirect_uri(gateway, overrides):
    client, _ = gateway
    verifier, challenge = _pkce()
    code = _code_of(await _code(client, challenge))
    answer = await client.post("/auth/oidc/token", data=_exchange(code, verifier, **overrides))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


async def test_the_client_must_authenticate(gateway):
    client, _ = gateway
    verifier, challenge = _pkce()
    code = _code_of(await _code(client, challenge))
    answer = await client.post(
        "/auth/oidc/token", data=_exchange(code, verifier, client_secret="guess")
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    # Basic authentication works as well as the form fields.
    form = _exchange(code, verifier)
    del form["client_id"], form["client_secret"]
    basic = httpx.BasicAuth(CLIENT.client_id, CLIENT.secret)
    assert (await client.post("/auth/oidc/token", data=form, auth=basic)).status_code == 200


async def test_a_replayed_code_is_refused_and_ends_the_session_it_started(gateway):
    client, _ = gateway
    verifier, challenge = _pkce()
    code = _code_of(await _code(client, challenge))
    first = await client.post("/auth/oidc/token", data=_exchange(code, verifier))
    assert first.status_code == 200

    again = await client.post("/auth/oidc/token", data=_exchange(code, verifier))

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    refresh = await client.post(
        "/auth/oidc/token",
        data=_refresh_form(first.json()["refresh_token"]),
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


async def test_logout_ends_the_session_and_returns_only_to_the_clients_pages(gateway):
    client, _ = gateway
    verifier, challenge = _pkce()
    code = _code_of(await _code(client, challenge))
    tokens = (await client.post("/auth/oidc/token", data=_exchange(code, verifier))).json()
    away = await client.get(
        "/auth/oidc/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "client_id": CLIENT.client_id,
            "post_logout_redirect_uri": "https://evil.test/",
        },
    )
    assert away.status_code == 200  # the session ended; the foreign URI is not followed
    assert "location" not in away.headers
    refresh = await client.post(
        "/auth/oidc/token",
        data=_refresh_form(tokens["refresh_token"]),
    )
    assert refresh.json()["error"] == "invalid_grant"

    verifier, challenge = _pkce()
    code = _code_of(await _code(client, challenge))
    tokens = (await client.post("/auth/oidc/token", data=_exchange(code, verifier))).json()
    back = await client.get(
        "/auth/oidc/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "client_id": CLIENT.client_id,
            "post_logout_redirect_uri": f"{PUBLIC}/admin/oidc/signed-out/",
        },
    )
    assert back.status_code == 303
    assert back.headers["location"] == f"{PUBLIC}/admin/oidc/signed-out/"


async def test_discovery_names_the_code_flow_endpoints(gateway):
    client, _ = gateway
    document = (await client.get("/.well-known/openid-configuration")).json()
    assert document["authorization_endpoint"] == f"{PUBLIC}/auth/oidc/authorize"
    assert document["token_endpoint"] == f"{PUBLIC}/auth/oidc/token"
    assert document["code_challenge_methods_supported"] == ["S256"]


async def test_the_password_form_is_under_the_credentials_limit_per_ip(gateway):
    client, _ = gateway
    _, challenge = _pkce()
    page = await client.get("/auth/oidc/authorize", params=_authorize_params(challenge))
    form = {**_hidden_fields(page.text), "username": "admin", "password": "guess"}
    answers = [(await client.post("/auth/oidc/login", data=form)).status_code for _ in range(11)]
    assert answers[:10] == [401] * 10
    assert answers[10] == 429  # 10 per minute per IP, as /auth/login
    # Showing the page is not a guess: it stays available.
    again = await client.get("/auth/oidc/authorize", params=_authorize_params(challenge))
    assert again.status_code == 200
