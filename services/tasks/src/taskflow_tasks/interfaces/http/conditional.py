"""ETags from task versions, and the If-Match / If-None-Match headers."""

from __future__ import annotations


def etag(version: int) -> str:
    return f'"v{version}"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def none_match(header: str | None, version: int) -> bool:
    """True when If-None-Match names the current version (weak comparison): answer 304."""
    if not header:
        return False
    current = etag(version)
    return any(tag == "*" or tag.removeprefix("W/") == current for tag in _tags(header))


def expected_versions(header: str | None) -> frozenset[int] | None:
    """The versions If-Match accepts (strong comparison); None when there is no precondition.

    An unparseable or weak tag can never match, so it yields an empty set (then a 412).
    """
    if header is None:
        return None
    tags = _tags(header)
    if "*" in tags:
        return None
    versions = set()
    for tag in tags:
        if tag.startswith('"v') and tag.endswith('"') and tag[2:-1].isdigit():
            versions.add(int(tag[2:-1]))
    return frozenset(versions)
