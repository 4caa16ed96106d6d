"""JWT verification shared by every service: RS256 only, JWKS cached, a framework-free Principal."""

from taskflow_common.auth.jwks import JwksCache, JwksSource, http_jwks_source, static_jwks_source
from taskflow_common.auth.principal import Principal
from taskflow_common.auth.verifier import InvalidTokenError, JwtVerifier

__all__ = [
    "InvalidTokenError",
    "JwksCache",
    "JwksSource",
    "JwtVerifier",
    "Principal",
    "http_jwks_source",
    "static_jwks_source",
]
