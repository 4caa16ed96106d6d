"""The development identity store on disk: uniqueness, refresh-token rotation and revocation,
and a file that is only ever replaced whole."""

import json
import threading
import time

import pytest

from taskflow_auth_gateway.infrastructure.identity.dev_store import (
    DevIdentityStore,
    DuplicateUserError,
    StoredUser,
)

HASH = "scrypt$not-checked-here"


def user(user_id: str, username: str, email: str) -> StoredUser:
    return StoredUser(user_id, username, email, HASH, ("user",))


@pytest.fixture
def store(tmp_path):
    store = DevIdentityStore(tmp_path)
    yield store
    store.close()


def test_usernames_and_emails_are_unique_whatever_their_case(store):
    store.add_user(user("u1", "alice", "alice@example.test"))

    for username, email in (("ALICE", "other@example.test"), ("bob", "Alice@Example.TEST")):
        assert store.exists(username, email)
        with pytest.raises(DuplicateUserError):
            store.add_user(user("u2", username, email))

    assert store.find_by_login("Alice") == store.find_by_login("ALICE@example.test")
    assert store.find_by_login("alice").id == "u1"
    assert store.get("u2") is None
    assert not store.exists("bob", "bob@example.test")


def test_a_refresh_token_rotates_once_and_not_after_it_expires(store):
    store.add_user(user("u1", "alice", "alice@example.test"))
    store.add_refresh_token("live", "u1", "s1", time.time() + 60)
    store.add_refresh_token("old", "u1", "s2", time.time() - 1)
    later = time.time() + 60

    assert store.rotate_refresh_token("live", "next", later) == ("u1", "s1")
    assert store.rotate_refresh_token("live", "again", later) is None  # used once already
    assert store.rotate_refresh_token("again", "more", later) is None  # nothing was issued
    assert store.rotate_refresh_token("next", "after", later) == ("u1", "s1")
    assert store.rotate_refresh_token("old", "x", later) is None
    assert store.rotate_refresh_token("never-issued", "y", later) is None


def test_logout_revokes_every_token_of_the_session_and_only_that_session(store):
    store.add_user(user("u1", "alice", "alice@example.test"))
    later = time.time() + 60
    store.add_refresh_token("first", "u1", "s1", later)
    assert store.rotate_refresh_token("first", "second", later) == ("u1", "s1")
    store.add_refresh_token("elsewhere", "u1", "s2", later)

    # Logging out with the rotated-away token still ends its session.
    assert store.end_session("first")
    assert store.rotate_refresh_token("second", "third", later) is None
    assert not store.end_session("second")  # the session is over already
    assert not store.end_session("never-issued")
    assert store.rotate_refresh_token("elsewhere", "fourth", later) == ("u1", "s2")


def test_the_files_hold_hashes_only_and_are_private(store, tmp_path):
    store.add_user(user("u1", "alice", "alice@example.test"))
    store.add_refresh_token("secret-refresh-token", "u1", "s1", time.time() + 60)

    files = sorted(tmp_path.glob("identity-*.json"))
    assert [f.name for f in files] == ["identity-refresh-tokens.json", "identity-users.json"]
    for file in files:
        assert file.stat().st_mode & 0o077 == 0
        assert "secret-refresh-token" not in file.read_text()
    assert not list(tmp_path.glob("*.tmp"))  # replaced whole, nothing left half-written


def test_expired_refresh_tokens_are_dropped_from_the_file(store, tmp_path):
    store.add_user(user("u1", "alice", "alice@example.test"))
    store.add_refresh_token("old", "u1", "s1", time.time() - 1)
    store.add_refresh_token("live", "u1", "s1", time.time() + 60)

    document = json.loads((tmp_path / "identity-refresh-tokens.json").read_text())
    assert len(document["tokens"]) == 1


def test_two_stores_on_one_directory_see_and_keep_each_others_changes(tmp_path):
    first, second = DevIdentityStore(tmp_path), DevIdentityStore(tmp_path)
    later = time.time() + 60
    first.add_user(user("u1", "alice", "alice@example.test"))
    second.add_user(user("u2", "bob", "bob@example.test"))
    second.add_refresh_token("token", "u1", "s1", later)

    assert first.get("u2") is not None
    assert first.rotate_refresh_token("token", "next", later) == ("u1", "s1")
    assert second.rotate_refresh_token("token", "other", later) is None
    with pytest.raises(DuplicateUserError):
        first.add_user(user("u3", "BOB", "b@example.test"))
    first.close()
    second.close()

    reopened = DevIdentityStore(tmp_path)
    assert {reopened.get("u1").username, reopened.get("u2").username} == {"alice", "bob"}
    assert reopened.rotate_refresh_token("next", "last", later) == ("u1", "s1")
    reopened.close()


def test_concurrent_uses_of_one_refresh_token_rotate_it_once(store):
    store.add_user(user("u1", "alice", "alice@example.test"))
    later = time.time() + 60
    store.add_refresh_token("token", "u1", "s1", later)
    results: list[object] = []

    def use(successor: str) -> None:
        results.append(store.rotate_refresh_token("token", successor, later))

    threads = [threading.Thread(target=use, args=(f"next-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results, key=str) == [("u1", "s1")] + [None] * 7


def test_a_file_that_is_not_a_store_is_refused_with_its_name(tmp_path):
    (tmp_path / "identity-users.json").write_text("{not json")

    with pytest.raises(RuntimeError, match=r"identity-users\.json does not hold taskflow"):
        DevIdentityStore(tmp_path)
