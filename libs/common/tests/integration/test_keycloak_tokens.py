"""Tokens from the real Keycloak of the local stack, verified through taskflow_common."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import httpx
import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from taskflow_common.auth import InvalidTokenError, JwksCache, JwtVerifier, http_jwks_source
from taskflow_common.testing import KeycloakRealm


@pytest.fixture(scope="module")
def realm() -> KeycloakRealm:
    return KeycloakRealm()


@pytest.fixture(scope="module")
def tokens(realm):
    user = realm.create_user("verify")
    return user, realm.login(user)


def verifier(realm, *, issuer=None, audience="taskflow-api") -> JwtVerifier:
    return JwtVerifier(
        issuer=issuer or realm.issuer,
        audience=audience,
        jwks=JwksCache(http_jwks_source(realm.jwks_url)),
        leeway_seconds=10,
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_real_access_token_verifies_to_its_user(realm, tokens):
    user, issued = tokens

    principal = verifier(realm).verify(issued["access_token"])

    assert principal.sub == user.id
    assert principal.username == user.username
    assert principal.email == user.email
    assert "user" in principal.roles


def test_an_expired_token_is_refused(realm, tokens):
    _, issued = tokens
    check = verifier(realm)
    check.verify(issued["access_token"])  # warm the key cache while the token is fresh

    with time_machine.travel(timedelta(seconds=400)), pytest.raises(InvalidTokenError):
        check.verify(issued["access_token"])


def test_a_token_for_another_audience_is_refused(realm, tokens):
    with pytest.raises(InvalidTokenError):
        verifier(realm, audience="another-api").verify(tokens[1]["access_token"])


def test_a_token_from_another_issuer_is_refused(realm, tokens):
    with pytest.raises(InvalidTokenError):
        verifier(realm, issuer="http://127.0.0.1:8180/realms/master").verify(
            tokens[1]["access_token"]
        )


def test_alg_none_is_refused(realm, tokens):
    _, payload, _ = tokens[1]["access_token"].split(".")
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())

    with pytest.raises(InvalidTokenError):
        verifier(realm).verify(f"{header}.{payload}.")


def test_hs256_signed_with_the_realm_public_key_is_refused(realm, tokens):
    access = tokens[1]["access_token"]
    kid = jwt.get_unverified_header(access)["kid"]
    jwks = httpx.get(realm.jwks_url).json()
    public_jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    public_pem = jwt.PyJWK(public_jwk).key.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    payload = access.split(".")[1]
    signing_input = b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
    signing_input += "." + payload
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    with pytest.raises(InvalidTokenError):
        verifier(realm).verify(signing_input + "." + b64(signature))


def test_a_token_signed_by_a_foreign_key_with_the_realm_kid_is_refused(realm, tokens):
    access = tokens[1]["access_token"]
    claims = jwt.decode(access, options={"verify_signature": False})
    kid = jwt.get_unverified_header(access)["kid"]
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(InvalidTokenError):
        verifier(realm).verify(jwt.encode(claims, foreign, algorithm="RS256", headers={"kid": kid}))


def test_refresh_and_id_tokens_are_not_access_tokens(realm, tokens):
    _, issued = tokens
    check = verifier(realm)

    for other in (issued["refresh_token"], issued["id_token"]):
        with pytest.raises(InvalidTokenError):
            check.verify(other)
