"""A signing key of the benchmarks' own, as a JWKS document, and a bearer token it verifies."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "http://127.0.0.1/bench-issuer"
AUDIENCE = "taskflow-api"
KID = "bench-key"


def jwks_and_token(subject: str) -> tuple[dict[str, Any], str]:
    """A fresh RSA key's JWKS document, and an hour's access token for `subject`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update(kid=KID, use="sig", alg="RS256")
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": now,
        "exp": now + 3600,
        "typ": "Bearer",
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})
    return {"keys": [public]}, token
