"""Who is calling: taken from a verified token only, never from a client-sent header."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Principal:
    sub: str
    username: str
    email: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        realm_access = claims.get("realm_access") or {}
        roles = realm_access.get("roles") if isinstance(realm_access, Mapping) else None
        return cls(
            sub=str(claims["sub"]),
            username=str(claims.get("preferred_username") or claims["sub"]),
            email=claims.get("email"),
            roles=frozenset(str(r) for r in roles or ()),
        )
