"""GET /api/v1/projects, paginated like the tasks list (keyset on the project id, opaque cursor,
same limit bounds and problem+json answers), on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import pytest

PROBLEM = "application/problem+json"


@pytest.fixture
def new_user(make_user):
    """Users of the same app."""
    return make_user


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def _create(user, name: str) -> str:
    response = await user.post("/api/v1/projects", json={"name": name})
    assert response.status_code == 201, response.text
    project_id: str = response.json()["id"]
    return project_id


async def _page(user, **params):
    response = await user.get("/api/v1/projects", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _walk(user, limit: int) -> tuple[list[str], list[int]]:
    """Every page's ids in order, and the size of each page."""
    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        body = await _page(user, limit=limit, **({"cursor": cursor} if cursor else {}))
        seen.extend(p["id"] for p in body["data"])
        sizes.append(len(body["data"]))
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, sizes
        assert len(sizes) < 100, "the cursor never ran out"


async def test_pages_cover_every_visible_project_once_in_creation_order(new_user):
    alice, bob = new_user(), new_user()
    mine = [await _create(alice, f"a{i}") for i in range(7)]
    # bob's projects alice is a member of are hers to list too; the others are not
    shared = await _create(bob, "shared with alice")
    await _create(bob, "bob only")
    added = await bob.post(
        f"/api/v1/projects/{shared}/members", json={"user_id": alice.sub, "role": "viewer"}
    )
    assert added.status_code == 201, added.text
    mine.append(await _create(alice, "a7"))
    expected = [*mine[:7], shared, mine[7]]  # creation order, which is id order

    paged, sizes = await _walk(alice, limit=3)
    assert paged == expected
    assert sizes == [3, 3, 3]  # an exactly full last page still ends the walk
    assert paged == sorted(paged, key=uuid.UUID)
    whole = await _page(alice, limit=100)
    assert [p["id"] for p in whole["data"]] == expected
    assert whole["next_cursor"] is None

    roles = {p["id"]: p["my_role"] for p in whole["data"]}
    assert roles[shared] == "viewer"
    assert {roles[pid] for pid in mine} == {"owner"}
    listed = next(p for p in whole["data"] if p["id"] == shared)
    single = (await alice.get(f"/api/v1/projects/{shared}")).json()
    assert listed == single  # members and roles as the single read shows them


async def test_no_projects_is_one_empty_last_page(new_user):
    body = await _page(new_user())
    assert body == {"data": [], "next_cursor": None}


async def test_default_page_is_fifty(new_user):
    alice = new_user()
    created = [await _create(alice, f"p{i}") for i in range(51)]
    first = await _page(alice)
    assert len(first["data"]) == 50
    assert first["next_cursor"] is not None
    second = await _page(alice, cursor=first["next_cursor"])
    assert [p["id"] for p in first["data"] + second["data"]] == created
    assert second["next_cursor"] is None


async def test_pages_neither_repeat_nor_skip_while_projects_are_inserted(new_user):
    alice = new_user()
    originals = {await _create(alice, f"o{i}") for i in range(12)}
    stop = asyncio.Event()
    inserted: list[str] = []

    async def insert_meanwhile() -> None:
        while not stop.is_set():
            inserted.append(await _create(alice, f"n{len(inserted)}"))
            await asyncio.sleep(0)

    inserter = asyncio.create_task(insert_meanwhile())
    try:
        seen: list[str] = []
        cursor = None
        for _ in range(200):
            body = await _page(alice, limit=4, **({"cursor": cursor} if cursor else {}))
            seen.extend(p["id"] for p in body["data"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
            # ids only grow (UUIDv7), so new projects land after the cursor, never before it
            await asyncio.sleep(0.01)
        # an inserter faster than the reader could keep the walk going: stop it, then finish
        stop.set()
        await inserter
        while cursor is not None:
            body = await _page(alice, limit=4, cursor=cursor)
            seen.extend(p["id"] for p in body["data"])
            cursor = body["next_cursor"]
    finally:
        stop.set()
        await inserter
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen, key=uuid.UUID)
    assert originals <= set(seen)


async def test_another_users_projects_never_appear_on_any_page(new_user):
    alice, bob = new_user(), new_user()
    alices = {await _create(alice, f"a{i}") for i in range(5)}
    bobs = {await _create(bob, f"b{i}") for i in range(4)}
    seen, _ = await _walk(bob, limit=2)
    assert set(seen) == bobs
    assert not alices & set(seen)
    # a cursor naming one of alice's projects is only a position: bob still sees only his own
    first_of_alice = min(alices, key=uuid.UUID)
    body = await _page(bob, cursor=_cursor({"s": "id", "i": first_of_alice}))
    assert {p["id"] for p in body["data"]} <= bobs
    # a project alice shares and then revokes comes and goes from bob's pages
    shared = sorted(alices, key=uuid.UUID)[2]
    await alice.post(
        f"/api/v1/projects/{shared}/members", json={"user_id": bob.sub, "role": "editor"}
    )
    assert set((await _walk(bob, limit=2))[0]) == bobs | {shared}
    await alice.delete(f"/api/v1/projects/{shared}/members/{bob.sub}")
    assert set((await _walk(bob, limit=2))[0]) == bobs


@pytest.mark.parametrize("limit", [0, -1, 101, "x", ""])
async def test_out_of_range_limit_is_422_problem(new_user, limit):
    response = await new_user().get("/api/v1/projects", params={"limit": limit})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]


async def test_limit_bounds_are_inclusive(new_user):
    alice = new_user()
    for i in range(2):
        await _create(alice, f"p{i}")
    assert len((await _page(alice, limit=1))["data"]) == 1
    assert len((await _page(alice, limit=100))["data"]) == 2


TASKS_CURSOR = _cursor(
    {"s": "created_at", "v": "2026-11-26T00:00:00+00:00", "i": str(uuid.uuid4())}
)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!",
        "e30",  # {}
        _cursor([]),
        _cursor("id"),
        _cursor({"s": "id"}),
        _cursor({"s": "id", "i": "not-a-uuid"}),
        _cursor({"s": "id", "i": 1}),
        _cursor({"s": "id", "i": None}),
        _cursor({"s": "created_at", "i": str(uuid.uuid4())}),
        _cursor({"s": "id", "i": str(uuid.uuid4()), "v": None}),
        TASKS_CURSOR,  # another list's cursor
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_bad_cursor_is_400_problem(new_user, cursor):
    response = await new_user().get("/api/v1/projects", params={"cursor": cursor})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("invalid-cursor")


async def test_an_overlong_cursor_is_422_and_a_projects_cursor_is_400_for_tasks(new_user):
    alice = new_user()
    too_long = await alice.get("/api/v1/projects", params={"cursor": "a" * 1001})
    assert too_long.status_code == 422
    assert too_long.headers["content-type"] == PROBLEM
    for i in range(2):
        await _create(alice, f"p{i}")
    cursor = (await _page(alice, limit=1))["next_cursor"]
    # ... and a tasks cursor whose id is not a string (a 500 before, as the UUID parse raised
    # AttributeError) is a 400 there, as it is here
    odd = _cursor({"s": "created_at", "v": None, "i": 1})
    for wrong in (cursor, odd):
        tasks = await alice.get("/api/v1/tasks", params={"cursor": wrong})
        assert tasks.status_code == 400, tasks.text
        assert tasks.headers["content-type"] == PROBLEM


@contextmanager
def _member_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Statements that read the members table, on any asyncpg connection in the process."""
    seen: list[str] = []
    with monkeypatch.context() as patch:
        for name in ("fetch", "fetchrow", "fetchval"):
            original = getattr(asyncpg.Connection, name)

            def logged(self, query, *args, _original=original, **kwargs):
                if "members" in query and query.lstrip().upper().startswith("SELECT"):
                    seen.append(query)
                return _original(self, query, *args, **kwargs)

            patch.setattr(asyncpg.Connection, name, logged)
        yield seen


async def test_one_statement_per_page_whatever_the_members(new_user, monkeypatch):
    alice = new_user()
    others = [new_user() for _ in range(3)]
    for i in range(5):
        pid = await _create(alice, f"p{i}")
        for other in others:
            await alice.post(
                f"/api/v1/projects/{pid}/members", json={"user_id": other.sub, "role": "viewer"}
            )
    with _member_reads(monkeypatch) as statements:
        body = await _page(alice, limit=3)
    assert len(statements) == 1, statements
    assert len(body["data"]) == 3
    assert all(len(p["members"]) == 4 for p in body["data"])
    with _member_reads(monkeypatch) as statements:
        body = await _page(alice, limit=3, cursor=body["next_cursor"])
    assert len(statements) == 1, statements
    assert len(body["data"]) == 2
    assert body["next_cursor"] is None
