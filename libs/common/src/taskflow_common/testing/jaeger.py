"""Traces read back from the local stack's Jaeger (its query API), for end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

JAEGER_QUERY = "http://127.0.0.1:16686"


@dataclass(frozen=True)
class Span:
    span_id: str
    service: str
    name: str
    kind: str | None
    parent_id: str | None
    start_us: int
    tags: dict[str, Any]


class Trace:
    """One trace as Jaeger returns it, with the questions the tests ask of it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.trace_id: str = data["traceID"]
        services = {key: p["serviceName"] for key, p in data["processes"].items()}
        self.spans: dict[str, Span] = {}
        for raw in data["spans"]:
            tags = {t["key"]: t["value"] for t in raw.get("tags", [])}
            parents = [r["spanID"] for r in raw.get("references", []) if r["refType"] == "CHILD_OF"]
            self.spans[raw["spanID"]] = Span(
                span_id=raw["spanID"],
                service=services[raw["processID"]],
                name=raw["operationName"],
                kind=tags.get("span.kind"),
                parent_id=parents[0] if parents else None,
                start_us=raw["startTime"],
                tags=tags,
            )

    @property
    def services(self) -> set[str]:
        return {s.service for s in self.spans.values()}

    def find(self, service: str, name: str, *, under: Span | None = None) -> list[Span]:
        """Spans of `service` named `name` (or starting with it, for `name*`), optionally only
        those beneath `under`."""
        if name.endswith("*"):
            matches = [s for s in self.spans.values() if s.name.startswith(name[:-1])]
        else:
            matches = [s for s in self.spans.values() if s.name == name]
        found = [s for s in matches if s.service == service]
        if under is not None:
            found = [s for s in found if self.descends_from(s, under)]
        return sorted(found, key=lambda s: s.start_us)

    def parent(self, span: Span) -> Span | None:
        return self.spans.get(span.parent_id) if span.parent_id else None

    def descends_from(self, span: Span, ancestor: Span) -> bool:
        current = self.parent(span)
        while current is not None:
            if current.span_id == ancestor.span_id:
                return True
            current = self.parent(current)
        return False

    def outline(self) -> str:
        """The tree, one span a line (service: name), for assertion messages."""
        children: dict[str | None, list[Span]] = {}
        for span in self.spans.values():
            parent = span.parent_id if span.parent_id in self.spans else None
            children.setdefault(parent, []).append(span)
        lines: list[str] = []

        def walk(parent: str | None, depth: int) -> None:
            for span in sorted(children.get(parent, []), key=lambda s: s.start_us):
                lines.append(f"{'  ' * depth}{span.service}: {span.name} [{span.kind}]")
                walk(span.span_id, depth + 1)

        walk(None, 0)
        return "\n".join(lines)


def fetch_trace(
    trace_id: str,
    until: Callable[[Trace], bool],
    *,
    within: float = 60.0,
    base_url: str = JAEGER_QUERY,
) -> Trace:
    """The trace once `until` holds for it (spans arrive batch by batch from each process);
    fails with what had arrived when `within` seconds pass."""
    deadline = time.monotonic() + within
    last: Trace | None = None
    while True:
        response = httpx.get(f"{base_url}/api/traces/{trace_id}", timeout=5)
        if response.status_code == 200 and response.json().get("data"):
            last = Trace(response.json()["data"][0])
            if until(last):
                return last
        if time.monotonic() > deadline:
            shown = last.outline() if last is not None else "(no span at all)"
            raise AssertionError(f"trace {trace_id} within {within:.0f} s was:\n{shown}")
        time.sleep(0.5)
