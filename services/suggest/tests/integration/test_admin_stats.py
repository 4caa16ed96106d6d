"""GET /api/v1/admin/stats on suggest's own port: suggestions made and their acceptance, in
all and per source, for the administrators' realm role only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from suggest_fakes import ISSUER, TestKeys, fake_tasks_api

from taskflow_suggest.bootstrap import create_app
from taskflow_suggest.config import Settings


@pytest.fixture
def keys() -> TestKeys:
    return TestKeys()


@pytest.fixture
async def client(suggest_pg_url, keys) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(mode="embedded", database_url=suggest_pg_url, oidc_issuer=ISSUER)
    app = create_app(settings, jwks=keys.jwks, tasks_app=fake_tasks_api(keys, {}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://suggest") as http:
            yield http


async def test_admin_stats_count_suggestions_and_feedback_per_source(client, keys):
    alice = {"Authorization": f"Bearer {keys.token('alice')}"}
    admin = {"Authorization": f"Bearer {keys.token(str(uuid.uuid4()), roles=('admin',))}"}
    empty = (await client.get("/api/v1/admin/stats", headers=admin)).json()
    assert empty["total"] == 0
    assert empty["acceptance_rate"] is None
    made = []
    for title in ("Outage: checkout down", "Water the plants", "Renew the passport"):
        response = await client.post(
            "/api/v1/suggestions/priority", json={"title": title}, headers=alice
        )
        assert response.status_code == 200, response.text
        made.append(response.json()["id"])
    for suggestion_id, accepted in ((made[0], True), (made[1], False)):
        feedback = await client.post(
            f"/api/v1/suggestions/{suggestion_id}/feedback",
            json={"accepted": accepted},
            headers=alice,
        )
        assert feedback.status_code == 200, feedback.text

    response = await client.get("/api/v1/admin/stats", headers=admin)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "total": 3,
        "accepted": 1,
        "rejected": 1,
        "acceptance_rate": 0.5,
        "by_source": {
            "llm": {"total": 0, "accepted": 0, "rejected": 0},
            "heuristic": {"total": 3, "accepted": 1, "rejected": 1},
        },
    }


async def test_admin_stats_refuse_a_token_without_the_admin_role(client, keys):
    response = await client.get(
        "/api/v1/admin/stats", headers={"Authorization": f"Bearer {keys.token('alice')}"}
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "admin" in response.json()["detail"]
    assert (await client.get("/api/v1/admin/stats")).status_code == 401
