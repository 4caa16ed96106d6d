"""What a Django process's composition root hands to the glue: the verifier, readiness checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from taskflow_common.auth import JwtVerifier
from taskflow_common.health import ReadinessCheck

_verifier: JwtVerifier | None = None
_check_sources: dict[str, Callable[[], Sequence[ReadinessCheck]]] = {}


def install(
    *,
    verifier: JwtVerifier,
    checks: Callable[[], Sequence[ReadinessCheck]] | None = None,
    name: str = "default",
) -> None:
    """Called by a bootstrap; `name` lets several Django apps of one process add their checks."""
    global _verifier
    _verifier = verifier
    if checks is not None:
        _check_sources[name] = checks


def installed_verifier() -> JwtVerifier:
    if _verifier is None:
        raise RuntimeError("no JwtVerifier installed: the service's bootstrap must call install()")
    return _verifier


def installed_checks() -> list[ReadinessCheck]:
    checks: dict[str, ReadinessCheck] = {}
    for source in _check_sources.values():
        for check in source():
            checks.setdefault(check.name, check)
    return list(checks.values())
