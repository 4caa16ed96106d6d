"""The API on the real Postgres: full-text search, JSONB labels, keyset pagination while
other requests insert concurrently, concurrent idempotent retries."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def test_full_text_search_uses_stemming_and_scopes_to_the_caller(make_user):
    alice, bob = make_user(), make_user()
    hit = await alice.create_task(title="Quarterly reports", description="numbers for the board")
    await alice.create_task(title="Groceries", description="milk, eggs")
    await bob.create_task(title="Bob's quarterly report")

    async def search(user, q):
        response = await user.get("/api/v1/tasks", params={"q": q})
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["data"]]

    assert await search(alice, "report") == [hit["id"]]  # stemmed: reports ~ report
    assert await search(alice, "board numbers") == [hit["id"]]
    assert await search(alice, '"quarterly reports" -groceries') == [hit["id"]]
    assert await search(alice, "spaceship") == []
    assert await search(alice, "&|!:*()") == []  # operators are plain text, never a 5xx


async def test_labels_filter_and_counts_on_jsonb(make_user):
    alice = make_user()
    a = await alice.create_task(labels=["Work", "Deep"])
    await alice.create_task(labels=["work"])
    listed = await alice.get("/api/v1/tasks", params={"label": ["WORK", "deep"]})
    assert [t["id"] for t in listed.json()["data"]] == [a["id"]]
    counts = {
        e["label"].lower(): e["count"] for e in (await alice.get("/api/v1/labels")).json()["data"]
    }
    assert counts == {"work": 2, "deep": 1}


async def test_pages_never_repeat_or_skip_under_concurrent_inserts(make_user):
    alice = make_user()
    originals = set()
    for i in range(40):
        task = await alice.create_task(title=f"o{i}", due_at=_in(1 + i / 10), priority="low")
        originals.add(task["id"])
    stop = asyncio.Event()

    async def insert_meanwhile() -> None:
        i = 0
        while not stop.is_set():
            await alice.create_task(title=f"n{i}", due_at=_in(1 + (i % 40) / 10 + 0.001))
            i += 1

    inserter = asyncio.create_task(insert_meanwhile())
    try:
        for sort in ("due_at", "-due_at", "-created_at"):
            seen: list[str] = []
            cursor = None
            while True:
                params = {"sort": sort, "limit": 7, **({"cursor": cursor} if cursor else {})}
                body = (await alice.get("/api/v1/tasks", params=params)).json()
                seen.extend(t["id"] for t in body["data"])
                cursor = body["next_cursor"]
                if cursor is None:
                    break
            assert len(seen) == len(set(seen)), sort
            assert originals <= set(seen), sort
    finally:
        stop.set()
        await inserter


async def test_concurrent_retries_with_one_idempotency_key_create_one_task(make_user):
    alice = make_user()
    headers = {"Idempotency-Key": "retry-storm"}
    responses = await asyncio.gather(
        *(alice.post("/api/v1/tasks", json={"title": "once"}, headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len((await alice.get("/api/v1/tasks")).json()["data"]) == 1


async def test_batch_is_atomic_on_postgres(make_user):
    alice, bob = make_user(), make_user()
    mine = await alice.create_task(title="mine")
    theirs = await bob.create_task(title="theirs")
    response = await alice.post(
        "/api/v1/tasks/batch",
        json={
            "operations": [
                {"op": "update", "id": mine["id"], "patch": {"title": "x"}},
                {"op": "delete", "id": theirs["id"]},
            ]
        },
    )
    assert response.status_code == 404
    assert response.json()["failures"][0]["id"] == theirs["id"]
    assert (await alice.get(f"/api/v1/tasks/{mine['id']}")).json()["title"] == "mine"
    assert (await bob.get(f"/api/v1/tasks/{theirs['id']}")).status_code == 200


FAR_FUTURE_CURSOR = base64.urlsafe_b64encode(
    b'{"s": "created_at", "v": "9999-12-31T23:59:59-10:00", '
    b'"i": "01a21801-4f5d-708e-9366-8037be79312d"}'
).decode()


async def test_hostile_input_is_4xx_never_5xx_on_postgres(make_user):
    alice = make_user()
    task = await alice.create_task(title="target")
    url = f"/api/v1/tasks/{task['id']}"
    bad_bodies = [
        b'{"title": "nul \\u0000 byte"}',
        b'{"title": "lone \\ud800 surrogate"}',
        b'{"title": "t", "labels": ["a\\u0000"]}',
        b'{"title": "t", "due_at": "9999-12-31T23:59:59-10:00"}',
        b'{"title": "t", "due_at": "0001-01-01T00:00:00+10:00"}',
        b'{"title": "t", "position": 1e400}',
        b"[]",
        b'"title"',
        b'{"title": {"nested": true}}',
    ]
    for raw in bad_bodies:
        for method, target in (("POST", "/api/v1/tasks"), ("PATCH", url)):
            response = await alice.request(
                method, target, content=raw, headers={"Content-Type": "application/json"}
            )
            assert 400 <= response.status_code < 500, (method, raw, response.text)
    for params in (
        {"q": "a\x00b"},
        {"label": "x\x00"},
        {"assignee_id": "\x00"},
        {"due_before": "9999-12-31T23:59:59-10:00"},
        {"q": "'); DROP TABLE x; --"},
        {"cursor": FAR_FUTURE_CURSOR},
    ):
        response = await alice.get("/api/v1/tasks", params=params)
        assert 400 <= response.status_code < 500 or response.status_code == 200, (
            params,
            response.text,
        )
        assert response.status_code != 500
    response = await alice.delete(f"/api/v1/projects/{task['id']}/members/%00")
    assert response.status_code == 404
    assert (await alice.get(url)).json()["version"] == 1
