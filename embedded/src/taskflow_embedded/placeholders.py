"""Stand-ins for service apps whose factory has not landed yet.

Same shape as the real factories (`create_app(settings, bus=..., jwks=...)` → ASGI app), the
same operational endpoints, and they verify the bearer token themselves like real services.
Each is replaced by the service's own factory as soon as it is importable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Depends, FastAPI

from taskflow_common.auth import JwksCache, JwksSource, JwtVerifier, Principal
from taskflow_common.web import BearerAuth, install_problem_handlers, ops_router


def placeholder_app(
    service: str,
    prefixes: Sequence[str],
    *,
    jwks: JwksSource,
    issuer: str,
    audience: str,
) -> FastAPI:
    verifier = JwtVerifier(issuer=issuer, audience=audience, jwks=JwksCache(jwks))
    auth = BearerAuth(verifier)
    app = FastAPI(title=f"taskflow-{service} (placeholder)", version="0")
    install_problem_handlers(app)
    app.include_router(ops_router(lambda: []))

    for prefix in prefixes:

        @app.get(prefix, summary=f"{service} is not built yet: an empty list", name=prefix)
        async def listing(principal: Principal = Depends(auth)) -> dict[str, Any]:  # noqa: B008
            return {"data": [], "next_cursor": None}

    return app
