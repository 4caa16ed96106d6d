"""Forged and misdirected bearer tokens are refused at the gateway (HTTP and WebSocket), and the
shared verifier refuses each bad claim on its own (expired, not yet valid, wrong issuer/audience).

Through the gateway a forger has no Keycloak private key, so every forgery there is signed with a
key of our own or none; the claim-by-claim checks run against the verifier the gateway uses, with
a key the test controls, so that only the claim under test is wrong.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from taskflow_common.auth.jwks import JwksCache, static_jwks_source
from taskflow_common.auth.verifier import InvalidTokenError, JwtVerifier

OUR_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def _real_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def _keycloak_public_pem(gateway: str, kid: str) -> bytes:
    from taskflow_common.testing import KeycloakRealm

    certs = httpx.get(KeycloakRealm().jwks_url, timeout=10).json()
    jwk = next(k for k in certs["keys"] if k["kid"] == kid)
    key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
    return key.public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _forgeries(gateway: str, real: str, victim_id: str) -> dict[str, str]:
    header, claims = _real_parts(real)
    kid = header["kid"]
    as_victim = {**claims, "sub": victim_id}
    fresh = {**claims, "iat": int(time.time()), "exp": int(time.time()) + 300}
    head, _, signature = real.rpartition(".")
    payload_swapped = _b64(json.dumps(as_victim).encode())
    public_pem = _keycloak_public_pem(gateway, kid)
    hs256 = jwt.api_jws.PyJWS()
    hs256._algorithms["HS256"].prepare_key = lambda key: key  # the classic key-confusion forgery
    return {
        "alg none": _unsigned({"alg": "none", "typ": "JWT", "kid": kid}, fresh),
        "alg None, no signature": _unsigned({"alg": "None", "kid": kid}, fresh),
        "HS256 keyed with the public key": hs256.encode(
            json.dumps(fresh).encode(), public_pem, algorithm="HS256", headers={"kid": kid}
        ),
        "our key, Keycloak's kid": jwt.encode(
            fresh, OUR_KEY, algorithm="RS256", headers={"kid": kid}
        ),
        "our key, unknown kid": jwt.encode(fresh, OUR_KEY, "RS256", headers={"kid": "forged"}),
        "real signature, subject swapped": f"{head.split('.')[0]}.{payload_swapped}.{signature}",
        "real token, signature stripped": f"{head}.",
        "our key, expired": jwt.encode(
            {**claims, "exp": int(time.time()) - 3600}, OUR_KEY, "RS256", headers={"kid": kid}
        ),
        "our key, wrong issuer": jwt.encode(
            {**fresh, "iss": "https://evil.example/realms/taskflow"},
            OUR_KEY,
            "RS256",
            headers={"kid": kid},
        ),
    }


def test_forged_tokens_are_refused_on_the_api(gateway, alice, bob):
    forgeries = _forgeries(gateway, alice.token, bob.id)
    accepted = {}
    with httpx.Client(base_url=gateway, timeout=10) as client:
        assert client.get("/api/v1/tasks", headers=alice.headers).status_code == 200
        for name, token in forgeries.items():
            for path in ("/api/v1/tasks", "/api/v1/notifications", "/auth/me"):
                response = client.get(path, headers={"Authorization": f"Bearer {token}"})
                if response.status_code != 401:
                    accepted[f"{name} on {path}"] = response.status_code
    assert accepted == {}


def test_a_real_keycloak_token_for_another_audience_is_refused(gateway, realm):
    user = realm.create_user("secaud")
    # admin-cli is a Keycloak built-in client: its tokens are signed with the realm's real key
    # but are not addressed to taskflow-api.
    issued = httpx.post(
        realm.token_url,
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": user.username,
            "password": user.password,
        },
        timeout=10,
    )
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    assert "taskflow-api" not in (
        jwt.decode(token, options={"verify_signature": False}).get("aud") or []
    )
    response = httpx.get(
        f"{gateway}/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 401


def test_refresh_and_id_tokens_are_not_access_tokens(gateway, realm):
    tokens = realm.login(realm.create_user("sectyp"))
    for kind in ("refresh_token", "id_token"):
        response = httpx.get(
            f"{gateway}/api/v1/tasks",
            headers={"Authorization": f"Bearer {tokens[kind]}"},
            timeout=10,
        )
        assert response.status_code == 401, kind


async def test_forged_tokens_are_refused_at_the_websocket_upgrade(gateway, alice, bob):
    ws_url = gateway.replace("http://", "ws://") + "/ws/notifications"
    async with websockets.connect(ws_url, subprotocols=["bearer", alice.token]) as ws:
        assert ws.subprotocol == "bearer"
    for name, token in _forgeries(gateway, alice.token, bob.id).items():
        for connect in (
            lambda t: websockets.connect(ws_url, subprotocols=["bearer", t]),
            lambda t: websockets.connect(f"{ws_url}?access_token={t}"),
        ):
            with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
                async with connect(token):
                    pass
            assert refused.value.response.status_code in (401, 403), name


# --- the verifier itself, one bad claim at a time ---------------------------------------------

ISSUER = "https://id.example/realms/taskflow"
AUDIENCE = "taskflow-api"


@pytest.fixture
def verifier() -> JwtVerifier:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(OUR_KEY.public_key()))
    jwks = JwksCache(static_jwks_source({"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]}))
    return JwtVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, leeway_seconds=10)


def _signed(**overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "sub": "3f1c7a52-0000-4000-8000-000000000001",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "typ": "Bearer",
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, OUR_KEY, algorithm="RS256", headers={"kid": "k1"})


def test_the_verifier_accepts_the_well_formed_token(verifier):
    assert verifier.verify(_signed()).sub == "3f1c7a52-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 60},
        {"nbf": int(time.time()) + 3600},
        {"iss": "https://id.example/realms/other"},
        {"aud": "some-other-api"},
        {"aud": None},
        {"exp": None},
        {"sub": None},
        {"typ": "Refresh"},
        {"typ": "ID"},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)
def test_the_verifier_refuses_each_bad_claim(verifier, overrides):
    with pytest.raises(InvalidTokenError):
        verifier.verify(_signed(**overrides))
