import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from taskflow_common.auth import InvalidTokenError, JwksCache, JwtVerifier, Principal

from ..conftest import AUDIENCE, ISSUER


def verifier_for(jwks_document, calls=None, **kwargs) -> JwtVerifier:
    def source():
        if calls is not None:
            calls.append(time.monotonic())
        return jwks_document

    cache = JwksCache(
        source,
        min_refresh_interval=kwargs.pop("min_refresh", 30.0),
        clock=kwargs.pop("clock", time.monotonic),
    )
    return JwtVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=cache, **kwargs)


def test_a_valid_token_gives_its_principal(jwks_document, make_token):
    principal = verifier_for(jwks_document).verify(make_token())

    assert principal == Principal(
        sub="user-1", username="alice", email="alice@example.test", roles=frozenset({"user"})
    )


async def test_async_verification_matches(jwks_document, make_token):
    principal = await verifier_for(jwks_document).averify(make_token())

    assert principal.sub == "user-1"


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("expired", {"exp": int(time.time()) - 60, "iat": int(time.time()) - 400}),
        ("wrong audience", {"aud": "someone-else"}),
        ("wrong issuer", {"iss": "https://evil.test/realms/taskflow"}),
        ("not yet valid", {"nbf": int(time.time()) + 600}),
        ("no exp", {"exp": None}),
        ("no subject", {"sub": None}),
        ("refresh token", {"typ": "Refresh"}),
        ("id token", {"typ": "ID"}),
    ],
)
def test_bad_claims_are_refused(jwks_document, make_token, case, overrides):
    with pytest.raises(InvalidTokenError):
        verifier_for(jwks_document).verify(make_token(**overrides))


def test_a_small_clock_skew_is_tolerated(jwks_document, make_token):
    token = make_token(exp=int(time.time()) - 3, nbf=int(time.time()) + 3)

    assert verifier_for(jwks_document, leeway_seconds=10).verify(token).sub == "user-1"


def test_alg_none_is_refused(jwks_document, make_token):
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "key-1"}).encode())
    signed = make_token().split(".")
    forged = f"{header.decode().rstrip('=')}.{signed[1]}."

    with pytest.raises(InvalidTokenError, match="not allowed"):
        verifier_for(jwks_document).verify(forged)


def test_hs256_signed_with_the_public_key_is_refused(jwks_document, make_token, rsa_key):
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(make_token(), options={"verify_signature": False})
    forged = _hs256(claims, public_pem)

    with pytest.raises(InvalidTokenError):
        verifier_for(jwks_document).verify(forged)


def _hs256(claims, secret: bytes) -> str:
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    signing_input = b64(json.dumps({"alg": "HS256", "kid": "key-1", "typ": "JWT"}).encode())
    signing_input += "." + b64(json.dumps(claims).encode())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def test_a_token_signed_by_a_foreign_key_is_refused(jwks_document, make_token):
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(InvalidTokenError):
        verifier_for(jwks_document).verify(make_token(key=foreign))


def test_a_tampered_payload_is_refused(jwks_document, make_token):
    header, _payload, signature = make_token().split(".")
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "admin",
        "exp": int(time.time()) + 300,
        "iat": int(time.time()),
    }
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")

    with pytest.raises(InvalidTokenError):
        verifier_for(jwks_document).verify(f"{header}.{payload}.{signature}")


@pytest.mark.parametrize("garbage", ["", "abc", "a.b", "a.b.c", "....", "Bearer x"])
def test_garbage_is_refused(jwks_document, garbage):
    with pytest.raises(InvalidTokenError):
        verifier_for(jwks_document).verify(garbage)


def test_keys_are_fetched_once_and_parsed_once(jwks_document, make_token):
    calls: list[float] = []
    verifier = verifier_for(jwks_document, calls)

    for _ in range(50):
        verifier.verify(make_token())

    assert len(calls) == 1


def test_unknown_kids_refresh_at_most_once_per_interval(jwks_document, make_token):
    calls: list[float] = []
    now = [1000.0]
    verifier = verifier_for(jwks_document, calls, min_refresh=30.0, clock=lambda: now[0])
    verifier.verify(make_token())

    for _ in range(20):
        with pytest.raises(InvalidTokenError, match="unknown signing key"):
            verifier.verify(make_token(kid="rotated"))
    assert len(calls) == 1

    now[0] += 31
    with pytest.raises(InvalidTokenError):
        verifier.verify(make_token(kid="rotated"))
    assert len(calls) == 2


def test_a_rotated_key_is_picked_up_after_the_interval(jwks_document, make_token, rsa_key):
    documents = [{"keys": []}, jwks_document]
    now = [0.0]
    cache = JwksCache(
        lambda: documents[min(cache.refresh_count, 1)], min_refresh_interval=5, clock=lambda: now[0]
    )
    verifier = JwtVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=cache)

    with pytest.raises(InvalidTokenError):
        verifier.verify(make_token())
    now[0] = 6

    assert verifier.verify(make_token()).username == "alice"


def _refuse_every_signature(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise jwt.InvalidSignatureError("checked again")

    monkeypatch.setattr(jwt, "decode", refuse)


def test_a_verified_token_is_remembered_but_its_expiry_still_counts(
    jwks_document, make_token, time_machine, monkeypatch
):
    time_machine.move_to(time.time(), tick=False)
    verifier = verifier_for(jwks_document)
    token = make_token(exp=int(time.time()) + 60)
    first = verifier.verify(token)
    with monkeypatch.context() as patched:
        _refuse_every_signature(patched)  # a second check must not need the signature
        assert verifier.verify(token) == first
    time_machine.shift(60 + verifier.leeway_seconds + 1)
    with pytest.raises(InvalidTokenError, match="expired"):
        verifier.verify(token)
    with pytest.raises(InvalidTokenError):  # and forgotten: a full check refuses it too
        verifier.verify(token)


def test_only_tokens_that_verified_are_remembered(jwks_document, make_token):
    verifier = verifier_for(jwks_document)
    forged = make_token()[:-4] + "AAAA"
    for _ in range(2):
        with pytest.raises(InvalidTokenError):
            verifier.verify(forged)


def test_the_cache_can_be_turned_off(jwks_document, make_token, monkeypatch):
    verifier = verifier_for(jwks_document, cache_size=0)
    token = make_token()
    verifier.verify(token)
    _refuse_every_signature(monkeypatch)
    with pytest.raises(InvalidTokenError):
        verifier.verify(token)
