"""Sessions: refreshed before the access token expires, once after a 401, kept where told."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import httpx
import pytest

from taskflow_sdk import (
    AuthenticationError,
    FileTokenStore,
    MemoryTokenStore,
    NotLoggedInError,
    TaskFlow,
    Tokens,
)

FAR = time.time() + 86_400
TOKENS = {
    "access_token": "new",
    "refresh_token": "r2",
    "expires_in": 300,
    "refresh_expires_in": 1800,
}


def tf_with(store: MemoryTokenStore, answer: httpx.MockTransport) -> TaskFlow:
    http = httpx.Client(base_url="http://gateway.test", transport=answer)
    return TaskFlow("http://gateway.test", token_store=store, http=http)


def me(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"id": "u1", "username": "ada", "email": None, "roles": ["user"]}
    )


def test_an_access_token_about_to_expire_is_refreshed_before_the_request() -> None:
    store = MemoryTokenStore(Tokens("old", "r1", time.time() + 5, FAR))
    seen: list[tuple[str, str | None]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("authorization")))
        if request.url.path == "/auth/refresh":
            assert json.loads(request.content) == {"refresh_token": "r1"}
            return httpx.Response(200, json=TOKENS)
        return me(request)

    tf_with(store, httpx.MockTransport(answer)).me()

    assert seen == [("/auth/refresh", None), ("/auth/me", "Bearer new")]
    saved = store.load()
    assert saved is not None
    assert saved.refresh_token == "r2"


def test_a_rejected_token_is_refreshed_once_and_the_request_sent_again() -> None:
    store = MemoryTokenStore(Tokens("revoked", "r1", FAR, FAR))
    paths: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/auth/refresh":
            return httpx.Response(200, json=TOKENS)
        if request.headers["authorization"] == "Bearer revoked":
            return httpx.Response(
                401, json={"type": "about:blank", "title": "Unauthorized", "status": 401}
            )
        return me(request)

    assert tf_with(store, httpx.MockTransport(answer)).me().username == "ada"
    assert paths == ["/auth/me", "/auth/refresh", "/auth/me"]


def test_a_refused_refresh_ends_the_session() -> None:
    store = MemoryTokenStore(Tokens("old", "r1", time.time() + 5, FAR))

    def answer(request: httpx.Request) -> httpx.Response:
        problem = {"type": "about:blank", "title": "Unauthorized", "status": 401}
        return httpx.Response(401, json=problem | {"detail": "Refresh token revoked."})

    with pytest.raises(AuthenticationError, match="revoked"):
        tf_with(store, httpx.MockTransport(answer)).me()
    assert store.load() is None


def test_no_session_says_log_in() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing is sent without a token")

    with pytest.raises(NotLoggedInError):
        tf_with(MemoryTokenStore(), httpx.MockTransport(answer)).me()


def test_an_expired_session_says_log_in_again() -> None:
    store = MemoryTokenStore(Tokens("old", "r1", time.time() - 10, time.time() - 5))

    with pytest.raises(NotLoggedInError, match="expired"):
        tf_with(store, httpx.MockTransport(me)).me()


def test_the_file_store_is_private_to_its_owner(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "taskflow" / "tokens.json")
    tokens = Tokens("a", "r", 1.0, 2.0)

    store.save(tokens)

    assert store.load() == tokens
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert list(store.path.parent.iterdir()) == [store.path]  # no temporary file left
    store.clear()
    assert store.load() is None


def test_a_damaged_token_file_reads_as_logged_out(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{not json")

    assert FileTokenStore(path).load() is None
