"""One OpenAPI 3.1 document: the gateway's /auth/* plus every upstream's own spec, with only
the paths the gateway routes to that upstream, and one bearer security scheme.

Upstream specs are fetched in the background at start-up and then periodically; an upstream
that is down is left out and named under `info.x-taskflow-missing-services`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from taskflow_auth_gateway.application.ports import Upstream
from taskflow_auth_gateway.domain.routes import RouteTable

log = logging.getLogger(__name__)

BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An access token from POST /auth/login (or /auth/refresh).",
}
_COMPONENT_SECTIONS = (
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "links",
    "callbacks",
    "pathItems",
)
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class OpenApiAggregator:
    def __init__(
        self,
        *,
        upstreams: Mapping[str, Upstream],
        routes: RouteTable,
        own_spec: Callable[[], dict[str, Any]],
        refresh_seconds: float = 60.0,
        title: str = "TaskFlow API",
        version: str = "1",
    ) -> None:
        self.upstreams = upstreams
        self.routes = routes
        self.own_spec = own_spec
        self.refresh_seconds = refresh_seconds
        self.title = title
        self.version = version
        self.specs: dict[str, dict[str, Any]] = {}
        self.missing: dict[str, str] = dict.fromkeys(upstreams, "not fetched yet")
        self._task: asyncio.Task[None] | None = None
        self._document: dict[str, Any] | None = None

    async def start(self, *, first_within: float = 5.0) -> None:
        """Fetch every upstream's document once, waiting at most `first_within` seconds (so
        a gateway that just became healthy serves the whole document, not a partial one),
        then keep them fresh in the background."""
        first = asyncio.create_task(self.refresh(), name="openapi-first-fetch")
        try:
            await asyncio.wait_for(asyncio.shield(first), first_within)
        except TimeoutError:
            log.warning("openapi: upstream documents not all fetched in %gs", first_within)
        self._task = asyncio.create_task(self._keep_fresh(first), name="openapi-refresh")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _keep_fresh(self, first: asyncio.Task[None]) -> None:
        await first
        while True:
            # Ask again soon while an upstream is missing (it may be starting, or answer 503
            # until it is ready); otherwise at the normal pace.
            delay = 5.0 if self.missing else self.refresh_seconds
            if delay <= 0:
                return
            await asyncio.sleep(delay)
            await self.refresh()

    async def refresh(self) -> None:
        async def fetch(name: str, upstream: Upstream) -> None:
            try:
                status, body = await upstream.get("/openapi.json")
            except Exception as exc:
                self.missing[name] = f"unreachable: {type(exc).__name__}: {exc}"[:200]
                return
            try:
                if status != 200:
                    raise ValueError(f"answered {status}")
                spec = json.loads(body)
                if not isinstance(spec, dict) or "paths" not in spec:
                    raise ValueError("not an OpenAPI document")
            except Exception as exc:
                self.missing[name] = f"{type(exc).__name__}: {exc}"[:200]
                return
            self.specs[name] = spec
            self.missing.pop(name, None)

        await asyncio.gather(*(fetch(n, u) for n, u in self.upstreams.items()))
        self._document = None

    def document(self) -> dict[str, Any]:
        if self._document is None:
            self._document = self.merge()
        return self._document

    def merge(self) -> dict[str, Any]:
        own = self.own_spec()
        doc: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": {
                "title": self.title,
                "version": self.version,
                "description": "Every TaskFlow service behind its gateway. Authenticate with "
                "POST /auth/login and send the access token as `Authorization: Bearer …`.",
            },
            "paths": {},
            "components": {"securitySchemes": {"bearer": BEARER_SCHEME}},
            "tags": [],
        }
        if self.missing:
            doc["info"]["x-taskflow-missing-services"] = dict(sorted(self.missing.items()))
        self._add(doc, "gateway", own, keep_path=lambda p: True, secure=False)
        for name in sorted(self.specs):
            self._add(doc, name, self.specs[name], keep_path=self._keeper(name), secure=True)
        if not doc["tags"]:
            del doc["tags"]
        return doc

    def _keeper(self, upstream: str) -> Callable[[str], bool]:
        return lambda path: _routed_to(self.routes, path, upstream)

    def _add(
        self,
        doc: dict[str, Any],
        service: str,
        spec: dict[str, Any],
        *,
        keep_path: Callable[[str], bool],
        secure: bool,
    ) -> None:
        spec = copy.deepcopy(spec)
        if str(spec.get("openapi", "3.1")).startswith("3.0"):
            _nullable_to_31(spec)
        # Only what the routed paths use: a service's internal endpoints (its admin API, called
        # by the admin service directly) must not leak their schemas into the public document.
        kept_paths = {p: item for p, item in (spec.get("paths") or {}).items() if keep_path(p)}
        used = _referenced(spec, kept_paths)
        spec["paths"] = kept_paths
        spec["components"] = {
            section: {n: v for n, v in entries.items() if f"#/components/{section}/{n}" in used}
            for section, entries in (spec.get("components") or {}).items()
            if section in _COMPONENT_SECTIONS
        }
        # Same-named components that differ get the service's name as a prefix; references
        # inside this spec are rewritten before anything is copied into the document.
        components = doc["components"]
        renames: dict[str, str] = {}
        placed: list[tuple[str, str, str]] = []
        for section in _COMPONENT_SECTIONS:
            existing = components.get(section, {})
            for name, value in (spec.get("components", {}).get(section) or {}).items():
                new_name = name if existing.get(name, value) == value else f"{service}.{name}"
                if new_name != name:
                    renames[f"#/components/{section}/{name}"] = f"#/components/{section}/{new_name}"
                placed.append((section, name, new_name))
        if renames:
            _rewrite_refs(spec, renames)
        for section, name, new_name in placed:
            components.setdefault(section, {})[new_name] = spec["components"][section][name]
        operation_ids = {
            op.get("operationId")
            for item in doc["paths"].values()
            for m, op in item.items()
            if m in _METHODS
        }
        for path, item in spec["paths"].items():
            if path in doc["paths"]:
                continue
            for method in _METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                if operation.get("operationId") in operation_ids:
                    operation["operationId"] = f"{service}_{operation['operationId']}"
                operation_ids.add(operation.get("operationId"))
                if secure:
                    operation["security"] = [{"bearer": []}]
                    responses = operation.setdefault("responses", {})
                    responses.setdefault(
                        "401", {"description": "Missing, invalid or expired bearer token."}
                    )
                    responses.setdefault("429", {"description": "Rate limited; see Retry-After."})
            doc["paths"][path] = item
        for tag in spec.get("tags") or []:
            if tag not in doc["tags"]:
                doc["tags"].append(tag)


def _routed_to(routes: RouteTable, path: str, upstream: str) -> bool:
    route = routes.match(path)
    return route is not None and route.upstream == upstream and not path.startswith("/ws/")


def _referenced(spec: dict[str, Any], roots: Any) -> set[str]:
    """Every local `$ref` reachable from `roots`, following references into components."""
    found: set[str] = set()
    pending = [roots]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/") and ref not in found:
                found.add(ref)
                _, _, section, name = ref.split("/", 3)
                target = (spec.get("components") or {}).get(section, {}).get(name)
                if target is not None:
                    pending.append(target)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def _rewrite_refs(node: Any, renames: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in renames:
            node["$ref"] = renames[ref]
        for value in node.values():
            _rewrite_refs(value, renames)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renames)


def _nullable_to_31(node: Any) -> None:
    """OpenAPI 3.0's `nullable: true` is a `null` type in 3.1 (JSON Schema 2020-12)."""
    if isinstance(node, dict):
        if node.pop("nullable", False) is True:
            kind = node.get("type")
            if isinstance(kind, str):
                node["type"] = [kind, "null"]
            elif "$ref" in node or "allOf" in node or "oneOf" in node or "anyOf" in node:
                inner = {k: node.pop(k) for k in ("$ref", "allOf", "oneOf", "anyOf") if k in node}
                node["anyOf"] = [inner, {"type": "null"}]
        for value in node.values():
            _nullable_to_31(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_to_31(value)
