"""A FastAPI dependency that turns the bearer token into a Principal, or a 401 problem."""

from __future__ import annotations

from fastapi import Request

from taskflow_common.auth import InvalidTokenError, JwtVerifier, Principal
from taskflow_common.problems import unauthorized


class BearerAuth:
    """Use as `Depends(BearerAuth(verifier))`; the verifier is built in the composition root."""

    def __init__(self, verifier: JwtVerifier) -> None:
        self.verifier = verifier

    async def __call__(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("A bearer token is required.")
        try:
            principal = await self.verifier.averify(token.strip())
        except InvalidTokenError as exc:
            raise unauthorized("The bearer token is invalid or expired.") from exc
        request.state.principal = principal
        return principal
