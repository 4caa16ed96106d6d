"""Fixtures for taskflow_common's own tests: an RSA signing key and a token factory."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://idp.test/realms/taskflow"
AUDIENCE = "taskflow-api"


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def jwks_document(rsa_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwk.update({"kid": "key-1", "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}


@pytest.fixture
def make_token(rsa_key: rsa.RSAPrivateKey) -> Callable[..., str]:
    def make(*, kid: str = "key-1", key: Any = None, alg: str = "RS256", **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-1",
            "typ": "Bearer",
            "preferred_username": "alice",
            "email": "alice@example.test",
            "realm_access": {"roles": ["user"]},
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(
            claims, key if key is not None else rsa_key, algorithm=alg, headers={"kid": kid}
        )

    return make


@pytest.fixture(scope="session")
def _telemetry():
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from taskflow_common.telemetry import current_provider, init_telemetry

    exporter = InMemorySpanExporter()
    provider = init_telemetry("taskflow-common-tests")
    if provider is None:  # pragma: no cover - another test initialised it disabled
        provider = current_provider()
    assert provider is not None, "telemetry must be enabled for trace tests"
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def span_exporter(_telemetry):
    _telemetry.clear()
    return _telemetry
