"""Every forged or wrong token is refused at the edge with 401, never a 5xx.

Real tokens come from the stack's Keycloak (access, refresh, ID). Claim forgeries are signed
with a second *trusted* test key, published beside the realm's keys: a control token signed
with it passes, so each refusal below is due to the one claim that is wrong, not the key.
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gateway_support import serving, upstream_app
from jwt.algorithms import RSAAlgorithm

from taskflow_auth_gateway.bootstrap import create_app
from taskflow_auth_gateway.config import GatewaySettings
from taskflow_auth_gateway.infrastructure.upstream.http import HttpUpstream
from taskflow_common.auth import http_jwks_source
from taskflow_common.testing import KeycloakRealm

TRUSTED_KID = "trusted-test-key"
ISSUER = "http://127.0.0.1:8180/realms/taskflow"
TRUSTED_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
FOREIGN_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": "taskflow-api",
        "sub": "forged-user",
        "typ": "Bearer",
        "preferred_username": "mallory",
        "realm_access": {"roles": ["user", "admin"]},
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(
    payload: dict[str, Any],
    key: Any = TRUSTED_KEY,
    kid: str = TRUSTED_KID,
    algorithm: str = "RS256",
) -> str:
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture(scope="module")
def realm() -> KeycloakRealm:
    return KeycloakRealm()


@pytest.fixture(scope="module")
def realm_tokens(realm: KeycloakRealm) -> dict[str, Any]:
    return realm.login(realm.create_user("forged"), scope="openid")


@pytest.fixture
async def edge() -> AsyncIterator[str]:
    realm_jwks = http_jwks_source(f"{ISSUER}/protocol/openid-connect/certs")
    trusted = {
        **RSAAlgorithm.to_jwk(TRUSTED_KEY.public_key(), as_dict=True),
        "kid": TRUSTED_KID,
        "use": "sig",
        "alg": "RS256",
    }

    def jwks() -> dict[str, Any]:
        return {"keys": [*realm_jwks()["keys"], trusted]}

    async with serving(upstream_app()) as upstream_url:
        app = create_app(
            GatewaySettings(identity_provider="keycloak", rate_limiter="off"),
            upstreams={"tasks": HttpUpstream("tasks", upstream_url)},
            jwks=jwks,
        )
        async with serving(app) as url:
            yield url


def forgeries(realm_tokens: dict[str, Any]) -> dict[str, str]:
    access = realm_tokens["access_token"]
    header, payload, signature = access.split(".")
    realm_kid = jwt.get_unverified_header(access)["kid"]
    realm_public_pem = _realm_public_pem(realm_kid)
    tampered = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered["realm_access"] = {"roles": ["user", "admin"]}
    return {
        "alg none": f"{b64(json.dumps({'alg': 'none', 'kid': realm_kid}).encode())}."
        f"{b64(json.dumps(claims()).encode())}.",
        "HS256 signed with the realm public key": _hs256(claims(), realm_public_pem, realm_kid),
        "RS256 with a foreign key and the realm kid": signed(claims(), FOREIGN_KEY, realm_kid),
        "unknown kid": signed(claims(), FOREIGN_KEY, "no-such-kid"),
        "wrong iss": signed(claims(iss="http://evil.example/realms/taskflow")),
        "wrong aud": signed(claims(aud="another-api")),
        "expired": signed(
            claims(
                exp=int(time.time()) - 3600,
                iat=int(time.time()) - 7200,
                nbf=int(time.time()) - 7200,
            )
        ),
        "nbf in the future": signed(claims(nbf=int(time.time()) + 3600)),
        "no exp": signed(claims(exp=None)),
        "tampered payload": f"{header}.{b64(json.dumps(tampered).encode())}.{signature}",
        "truncated": access[: len(access) // 2],
        "garbage": "this-is-not-a-jwt",
        "refresh token as access token": realm_tokens["refresh_token"],
        "ID token as access token": realm_tokens["id_token"],
        "RS512 (not in the allow-list)": signed(claims(), algorithm="RS512"),
        "signature stripped": f"{header}.{payload}.",
        "embedded jwk header": jwt.encode(
            claims(),
            FOREIGN_KEY,
            algorithm="RS256",
            headers={
                "kid": "attacker",
                "jwk": RSAAlgorithm.to_jwk(FOREIGN_KEY.public_key(), as_dict=True),
            },
        ),
    }


def _hs256(payload: dict[str, Any], secret: bytes, kid: str) -> str:
    """PyJWT refuses PEM keys as HMAC secrets (that is the attack), so sign by hand."""
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(payload).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def _realm_public_pem(kid: str) -> bytes:
    keys = httpx.get(f"{ISSUER}/protocol/openid-connect/certs").json()["keys"]
    jwk = next(k for k in keys if k["kid"] == kid)
    public = RSAAlgorithm.from_jwk(jwk)
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


async def test_controls_pass_a_real_token_and_a_trusted_test_key_token(edge, realm_tokens):
    async with httpx.AsyncClient(base_url=edge) as client:
        for token in (realm_tokens["access_token"], signed(claims())):
            response = await client.get(
                "/api/v1/tasks/1", headers={"authorization": f"Bearer {token}"}
            )
            assert response.status_code == 200, response.text


async def test_every_forged_or_wrong_token_is_refused_with_401(edge, realm_tokens):
    cases = forgeries(realm_tokens)
    assert len(cases) >= 14
    outcomes: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=edge) as client:
        for name, token in cases.items():
            for path in ("/api/v1/tasks/1", "/auth/me"):
                response = await client.get(path, headers={"authorization": f"Bearer {token}"})
                outcomes[f"{name} {path}"] = response.status_code
                if response.status_code == 401:
                    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert all(status == 401 for status in outcomes.values()), outcomes


async def test_forged_tokens_cannot_open_a_websocket(edge, realm_tokens):
    import websockets

    url = edge.replace("http", "ws") + "/ws/notifications"
    for name, token in list(forgeries(realm_tokens).items())[:6]:
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(url, subprotocols=["bearer", token]):
                pass
        assert refused.value.response.status_code == 401, name


async def test_missing_or_malformed_authorization_headers_are_401(edge):
    async with httpx.AsyncClient(base_url=edge) as client:
        for value in (None, "", "Bearer", "Basic dXNlcjpwYXNz", "Token abc", "Bearer a b"):
            headers = {} if value is None else {"authorization": value}
            response = await client.get("/api/v1/tasks/1", headers=headers)
            assert response.status_code == 401, value
