"""GET /api/v1/admin/stats on notify's own port: sends per channel over 30 days, for the
administrators' realm role only (403 problem for anyone else)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from django.db.models import F

from taskflow_notify import services
from taskflow_notify.models import Delivery, Notification


def _stats(server: str, token: str) -> httpx.Response:
    return httpx.get(
        f"http://{server}/api/v1/admin/stats",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_admin_stats_count_sends_per_channel(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    admin = notify_test_issuer.token(nh.new_user_id(), roles=("user", "admin"))
    before = _stats(notify_server, admin)
    assert before.status_code == 200, before.text
    owner, assignee = nh.new_user_id(), nh.new_user_id()
    for _ in range(3):
        services.event_ingest(
            envelope=nh.task_assigned(owner, assignee), enqueue=lambda channel, delivery_id: None
        )
    emails = Delivery.objects.filter(notification__user_id=assignee, channel="email")
    first, second, _pending = list(emails.order_by("id"))
    Delivery.objects.filter(id=first.id).update(status=Delivery.Status.SENT)
    Delivery.objects.filter(id=second.id).update(status=Delivery.Status.FAILED)
    # A send older than the window counts for nothing.
    old = Notification.objects.filter(user_id=assignee).order_by("seq").first()
    assert old is not None
    Notification.objects.filter(id=old.id).update(created_at=F("created_at") - timedelta(days=31))

    after = _stats(notify_server, admin).json()

    assert after["days"] == 30
    was, now = before.json()["by_channel"], after["by_channel"]
    assert set(now) == {"in_app", "email", "webhook"}
    assert now["in_app"]["delivered"] - was["in_app"]["delivered"] == 2
    assert now["email"]["delivered"] - was["email"]["delivered"] == 1
    assert now["email"]["failed"] - was["email"]["failed"] == 1
    assert now["webhook"] == was["webhook"]


def test_admin_stats_refuse_a_token_without_the_admin_role(
    notify_server: str, notify_test_issuer: Any, nh: Any
) -> None:
    response = _stats(notify_server, notify_test_issuer.token(nh.new_user_id()))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "admin" in response.json()["detail"]
    anonymous = httpx.get(f"http://{notify_server}/api/v1/admin/stats", timeout=10)
    assert anonymous.status_code == 401
