"""REST through the real ASGI app: scoping, pagination, preferences, webhooks, bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from taskflow_notify import services


def _ingest(envelope: Any) -> None:
    services.event_ingest(envelope=envelope, enqueue=lambda channel, delivery_id: None)


@pytest.fixture
def api(notify_server: str, notify_test_issuer: Any, nh: Any) -> Any:
    def client(user_id: str) -> httpx.Client:
        token = notify_test_issuer.token(user_id)
        return httpx.Client(
            base_url=f"http://{notify_server}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    return client


def test_listing_is_scoped_paginated_and_filterable(api: Any, nh: Any) -> None:
    owner, alice, bob = nh.new_user_id(), nh.new_user_id(), nh.new_user_id()
    for _ in range(5):
        _ingest(nh.task_assigned(owner, alice))
    _ingest(nh.task_assigned(owner, bob))

    with api(alice) as client:
        first = client.get("/api/v1/notifications", params={"limit": 3}).json()
        assert len(first["data"]) == 3
        assert first["next_cursor"]
        second = client.get(
            "/api/v1/notifications", params={"limit": 3, "cursor": first["next_cursor"]}
        ).json()
        assert len(second["data"]) == 2
        assert second["next_cursor"] is None
        ids = [n["id"] for n in first["data"] + second["data"]]
        assert len(set(ids)) == 5
        assert all(n["kind"] == "task_assigned" for n in first["data"])

        read = client.post(f"/api/v1/notifications/{ids[0]}/read")
        assert read.status_code == 200
        assert read.json()["read_at"]
        unread = client.get("/api/v1/notifications", params={"unread": "true"}).json()
        assert ids[0] not in [n["id"] for n in unread["data"]]
        assert len(unread["data"]) == 4
        assert client.post("/api/v1/notifications/read-all").json() == {"updated": 4}

    with api(bob) as client:
        assert len(client.get("/api/v1/notifications").json()["data"]) == 1
        # Alice's notification does not exist for Bob: 404, not 403.
        stolen = client.post(f"/api/v1/notifications/{ids[1]}/read")
        assert stolen.status_code == 404
        assert stolen.headers["content-type"] == "application/problem+json"


def test_preferences_roundtrip_and_unknown_kinds(api: Any, nh: Any) -> None:
    with api(nh.new_user_id()) as client:
        defaults = client.get("/api/v1/notifications/preferences").json()["preferences"]
        assert defaults["task_assigned"]["email"] is True
        changed = client.put(
            "/api/v1/notifications/preferences",
            json={"preferences": {"task_assigned": {"email": False}}},
        )
        assert changed.status_code == 200
        assert changed.json()["preferences"]["task_assigned"] == {
            "in_app": True,
            "email": False,
            "webhook": True,
        }
        bad = client.put(
            "/api/v1/notifications/preferences",
            json={"preferences": {"no_such_kind": {"email": True}}},
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["preferences", "no_such_kind"]
        bad_channel = client.put(
            "/api/v1/notifications/preferences",
            json={"preferences": {"task_overdue": {"pigeon": True}}},
        )
        assert bad_channel.status_code == 422


@pytest.mark.parametrize("enabled", [0, 1, "true", "no", "on", None])
def test_a_preference_is_a_json_boolean_not_something_like_one(
    api: Any, nh: Any, enabled: object
) -> None:
    # The OpenAPI says boolean; DRF's BooleanField alone would read 0, "no" or "on" as one.
    with api(nh.new_user_id()) as client:
        bad = client.put(
            "/api/v1/notifications/preferences",
            json={"preferences": {"task_assigned": {"in_app": enabled}}},
        )
        assert bad.status_code == 422, bad.text
        assert bad.headers["content-type"] == "application/problem+json"
        unchanged = client.get("/api/v1/notifications/preferences").json()["preferences"]
        assert unchanged["task_assigned"]["in_app"] is True


def test_webhooks_create_list_delete_and_validation(api: Any, nh: Any) -> None:
    with api(nh.new_user_id()) as client:
        created = client.post(
            "/api/v1/webhooks",
            json={
                "url": "http://127.0.0.1:9/hook",
                "events": ["task_assigned"],
                "secret": "s" * 32,
            },
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        assert "secret" not in hook
        assert [h["id"] for h in client.get("/api/v1/webhooks").json()["data"]] == [hook["id"]]
        assert client.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()["data"] == []

        for body in (
            {"url": "not a url", "events": ["task_assigned"], "secret": "s" * 32},
            {"url": "ftp://example.com/x", "events": ["task_assigned"], "secret": "s" * 32},
            {"url": "http://127.0.0.1:9/x", "events": ["bogus"], "secret": "s" * 32},
            {"url": "http://127.0.0.1:9/x", "events": ["task_assigned"], "secret": "short"},
            {"url": "http://127.0.0.1:9/x", "events": [], "secret": "s" * 32},
        ):
            refused = client.post("/api/v1/webhooks", json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"

        assert client.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 204
        assert client.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 404
        assert client.get("/api/v1/webhooks/not-a-uuid").status_code == 404


def test_bad_requests_are_problems_not_500s(api: Any, nh: Any, notify_server: str) -> None:
    with api(nh.new_user_id()) as client:
        malformed = client.post(
            "/api/v1/webhooks", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert malformed.status_code == 400
        oversize = client.post(
            "/api/v1/webhooks",
            content=b'{"url": "' + b"a" * 200_000 + b'"}',
            headers={"content-type": "application/json"},
        )
        assert oversize.status_code == 413
        assert oversize.headers["content-type"] == "application/problem+json"
        assert client.get("/api/v1/notifications", params={"cursor": "%%%"}).status_code == 400
        assert client.get("/api/v1/notifications", params={"limit": "0"}).status_code == 422
        assert client.get("/api/v1/nothing-here").status_code == 404
    anonymous = httpx.get(f"http://{notify_server}/api/v1/notifications")
    assert anonymous.status_code == 401
    forged = httpx.get(
        f"http://{notify_server}/api/v1/notifications",
        headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."},
    )
    assert forged.status_code == 401


def test_a_query_value_that_is_no_boolean_or_number_is_refused(api: Any, nh: Any) -> None:
    """A blank or odd value is a value in a query string: `?unread=` is not `?unread` absent."""
    with api(nh.new_user_id()) as client:
        for params in ({"unread": ""}, {"unread": "maybe"}, {"limit": ""}):
            refused = client.get("/api/v1/notifications", params=params)
            assert refused.status_code == 422, params
            assert refused.headers["content-type"] == "application/problem+json"
        assert client.get("/api/v1/notifications/changes", params={"limit": ""}).status_code == 422
        # Opaque tokens stay lenient: a blank one means none.
        assert client.get("/api/v1/notifications", params={"cursor": ""}).status_code == 200
        assert client.get("/api/v1/notifications/changes", params={"since": ""}).status_code == 200


def test_ops_endpoints(notify_server: str, notify_metrics_server: str) -> None:
    assert httpx.get(f"http://{notify_server}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"http://{notify_server}/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"}), ready.text
    assert httpx.get(f"http://{notify_server}/metrics").status_code == 404
    detailed = httpx.get(f"http://{notify_metrics_server}/readyz").json()
    assert detailed["checks"] == {"database": "ok", "redis": "ok", "rabbitmq": "ok"}
    scrape = httpx.get(f"http://{notify_metrics_server}/metrics")
    assert "taskflow_http_requests_total" in scrape.text
