"""Any input a caller can send suggest's and admin's APIs through the gateway answers 2xx or a
4xx problem, never a 5xx: deep and odd JSON, NUL bytes and lone surrogates, huge numbers, odd
query strings and path segments. Property-based (hypothesis), against the distributed suite as a
real Keycloak user. Schemathesis covers what the schema describes; this covers what it does not
(bodies of any shape at all). Notify's REST API has its own such test in its package."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from taskflow_common.testing import hostile_input

odd_text = hostile_input.odd_text("Europe/Nowhere", long=12_000)
# 51 is one past the plan's largest limit.
huge_ints = hostile_input.HUGE_INTS | st.just(51)
deep_json = hostile_input.deep_json(odd_text, huge_ints)
PRIORITY_FIELDS = ("task_id", "title", "description", "due_at", "labels", "priority")
priority_bodies = st.one_of(
    st.dictionaries(st.sampled_from(PRIORITY_FIELDS) | odd_text, deep_json, max_size=6),
    deep_json,
)
plan_bodies = st.one_of(
    st.dictionaries(st.sampled_from(("limit", "timezone")) | odd_text, deep_json, max_size=3),
    deep_json,
)
feedback_bodies = st.one_of(
    st.fixed_dictionaries({"accepted": st.booleans()}),
    st.fixed_dictionaries({"accepted": deep_json}),
    deep_json,
)
url_text = hostile_input.url_text()
PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def client(gateway: str, alice: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway, headers=alice.headers, timeout=60) as http:
        yield http


def _check(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), what


def _post(client: httpx.Client, path: str, body: Any) -> None:
    # Lone surrogates cannot be UTF-8: they travel escaped, as a JSON client sends them.
    content = json.dumps(body, allow_nan=False).encode()
    response = client.post(path, content=content, headers={"content-type": "application/json"})
    _check(response, f"POST {path} {content[:120]!r}")


@PROPERTY
@given(body=priority_bodies)
def test_priority_suggestion_bodies(client: httpx.Client, body: Any) -> None:
    _post(client, "/api/v1/suggestions/priority", body)


@PROPERTY
@given(body=plan_bodies)
def test_plan_bodies(client: httpx.Client, body: Any) -> None:
    _post(client, "/api/v1/suggestions/plan", body)


@PROPERTY
@given(suggestion_id=url_text, body=feedback_bodies)
@example(suggestion_id="a\x00b", body={"accepted": True})
@example(suggestion_id="0" * 36, body={"accepted": False})
def test_feedback_ids_and_bodies(client: httpx.Client, suggestion_id: str, body: Any) -> None:
    _post(client, f"/api/v1/suggestions/{quote(suggestion_id, safe='')}/feedback", body)


@PROPERTY
@given(params=st.dictionaries(st.sampled_from(("task_id", "limit", "cursor")) | url_text, url_text))
def test_suggestion_list_queries(client: httpx.Client, params: dict[str, str]) -> None:
    _check(client.get("/api/v1/suggestions", params=params), f"GET /suggestions {params!r}")


@PROPERTY
@given(params=st.dictionaries(url_text, url_text, max_size=3), tail=url_text)
def test_admin_api_queries_and_paths(
    client: httpx.Client, params: dict[str, str], tail: str
) -> None:
    # Alice is no administrator: every answer is a 4xx problem, whatever the path and query.
    for path in ("/api/v1/admin/", f"/api/v1/admin/{quote(tail, safe='')}"):
        response = client.get(path, params=params)
        _check(response, f"GET {path} {params!r}")
        assert response.status_code >= 400, (path, response.status_code)
