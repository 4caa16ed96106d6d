"""Any input a caller can send notify's REST API answers 2xx or a 4xx problem, never a 5xx:
deep and odd JSON, NUL bytes and lone surrogates, huge numbers, hostile URLs and ids.
Property-based (hypothesis), through the real ASGI app on the stack's Postgres."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskflow_common.testing import hostile_input

pytestmark = pytest.mark.security

odd_text = hostile_input.odd_text("*", "%00")
huge_ints = hostile_input.HUGE_INTS
leaf = hostile_input.json_leaf(odd_text)
deep_json = hostile_input.deep_json(odd_text)
url_text = hostile_input.url_text()
kinds = st.sampled_from(["task_assigned", "task_due_soon", "*", "suggestion"]) | odd_text
urls = st.one_of(
    st.sampled_from(
        [
            "https://93.184.215.14/hook",
            "http://[::1]/",
            "https://example.com:99999/",
            "https://exa\x00mple.com/",
            "https://%00/",
            "https://" + "a" * 1990 + ".com/",
            "javascript:alert(1)",
            "https://[64:ff9b::7f00:1]/",
        ]
    ),
    odd_text,
)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def client(notify_server: str, notify_test_issuer: Any, nh: Any) -> Any:
    token = notify_test_issuer.token(nh.new_user_id())
    with httpx.Client(
        base_url=f"http://{notify_server}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ) as http:
        yield http


def _send(client: httpx.Client, method: str, path: str, body: Any = None, **kw: Any) -> None:
    content = None
    if body is not None:
        # Lone surrogates cannot be UTF-8: send them escaped, as a JSON client would.
        content = json.dumps(body, allow_nan=False).encode()
    response = client.request(
        method, path, content=content, headers={"content-type": "application/json"}, **kw
    )
    assert response.status_code < 500, f"{method} {path} {body!r}: {response.text[:300]}"
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")


@PROPERTY
@given(body=st.one_of(deep_json, st.fixed_dictionaries({"preferences": deep_json})))
def test_preferences(client: httpx.Client, body: Any) -> None:
    _send(client, "PUT", "/api/v1/notifications/preferences", body)


@PROPERTY
@given(
    matrix=st.dictionaries(kinds, st.dictionaries(odd_text | st.just("email"), leaf, max_size=3))
)
def test_preference_matrices(client: httpx.Client, matrix: Any) -> None:
    _send(client, "PUT", "/api/v1/notifications/preferences", {"preferences": matrix})


@PROPERTY
@given(
    url=urls,
    events=st.one_of(st.lists(kinds, max_size=4), deep_json),
    secret=st.one_of(odd_text, st.text(min_size=16, max_size=40).map(lambda t: t + "\x00")),
)
def test_webhook_creation(client: httpx.Client, url: Any, events: Any, secret: Any) -> None:
    _send(client, "POST", "/api/v1/webhooks", {"url": url, "events": events, "secret": secret})


@PROPERTY
@given(params=st.dictionaries(st.sampled_from(["since", "limit", "cursor", "unread"]), url_text))
def test_list_queries(client: httpx.Client, params: dict[str, str]) -> None:
    for path in ("/api/v1/notifications", "/api/v1/notifications/changes"):
        _send(client, "GET", path, params=params)


@PROPERTY
@given(identifier=url_text.filter(lambda t: t not in {"", ".", ".."}))
def test_identifiers(client: httpx.Client, identifier: str) -> None:
    quoted = quote(identifier, safe="")
    _send(client, "POST", f"/api/v1/notifications/{quoted}/read")
    _send(client, "DELETE", f"/api/v1/webhooks/{quoted}")
    _send(client, "GET", f"/api/v1/webhooks/{quoted}/deliveries")
