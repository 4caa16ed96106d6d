"""The development identity provider's storage: users and refresh tokens in JSON files,
the signing key as a PEM file, all under the data directory (`.data/` by default; ADR 0206)."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from taskflow_auth_gateway.infrastructure.identity.json_file import JsonFile

# scrypt parameters (OWASP's minimum: N=2^17 is stronger but costs 128 MiB per hash; 2^15 with
# r=8 is 32 MiB and ~0.1 s here, plenty for a development provider).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, maxmem=64 * 2**20
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        _, n, r, p, salt_hex, digest_hex = encoded.split("$")
        digest = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 2**20,
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


# A hash of nothing, verified against when the user is unknown so that both paths cost the same.
_DUMMY_HASH: str | None = None


def dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    return _DUMMY_HASH


_Doc = TypeVar("_Doc")


@dataclass(frozen=True)
class StoredUser:
    id: str
    username: str
    email: str
    password_hash: str
    roles: tuple[str, ...]


class DuplicateUserError(Exception):
    pass


def load_or_create_signing_key(path: Path) -> rsa.RSAPrivateKey:
    """The RSA key survives restarts, so tokens issued before a restart stay valid."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    tmp.replace(path)
    return key


class _Users:
    """Every user, indexed the way the provider looks them up (casefolded, so unique
    whatever the case, like Keycloak's)."""

    def __init__(self) -> None:
        self.by_id: dict[str, StoredUser] = {}
        self.created_at: dict[str, float] = {}
        self.by_username: dict[str, str] = {}  # casefolded username -> user id
        self.by_email: dict[str, str] = {}  # casefolded email -> user id

    def taken(self, username: str, email: str) -> bool:
        return username.casefold() in self.by_username or email.casefold() in self.by_email

    def put(self, user: StoredUser, created_at: float) -> None:
        self.by_id[user.id] = user
        self.created_at[user.id] = created_at
        self.by_username[user.username.casefold()] = user.id
        self.by_email[user.email.casefold()] = user.id

    @classmethod
    def load(cls, document: dict[str, Any]) -> _Users:
        users = cls()
        for row in document["users"]:
            user = StoredUser(
                row["id"], row["username"], row["email"], row["password_hash"], tuple(row["roles"])
            )
            users.put(user, row["created_at"])
        return users

    def dump(self) -> dict[str, Any]:
        return {
            "users": [
                {
                    "id": user.id,
                    "username": user.username,
                    "email": user.email,
                    "password_hash": user.password_hash,
                    "roles": list(user.roles),
                    "created_at": self.created_at[user.id],
                }
                for user in self.by_id.values()
            ]
        }


@dataclass
class _RefreshToken:
    user_id: str
    session_id: str
    expires_at: float
    revoked: bool = False


class _RefreshTokens(dict[str, _RefreshToken]):
    """By the SHA-256 of the token, never the token. Expired tokens are dropped; revoked live
    ones stay until they expire, as they still name their session for a logout."""

    def prune(self, now: float) -> None:
        for digest in [d for d, token in self.items() if token.expires_at <= now]:
            del self[digest]

    @classmethod
    def load(cls, document: dict[str, Any]) -> _RefreshTokens:
        return cls(
            (digest, _RefreshToken(user_id, session_id, expires_at, revoked))
            for digest, (user_id, session_id, expires_at, revoked) in document["tokens"].items()
        )

    def dump(self) -> dict[str, Any]:
        return {
            "tokens": {
                digest: [token.user_id, token.session_id, token.expires_at, token.revoked]
                for digest, token in self.items()
            }
        }


class DevIdentityStore:
    """Users and refresh tokens in two JSON files under the data directory, each replaced
    whole by every change to it (ADR 0206): users change on registration only, refresh tokens
    on every login, refresh and logout, and that file holds only the tokens still live.

    Synchronous; callers run it in a thread. A thread lock serialises this process; writers
    also hold an exclusive flock on `identity.lock`, and re-read a file that another provider
    on the same data directory replaced, so neither loses the other's changes.
    """

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._users = JsonFile(
            data_dir / "identity-users.json",
            kind="taskflow development users/1",
            empty=_Users,
            load=_Users.load,
            dump=_Users.dump,
        )
        self._tokens = JsonFile(
            data_dir / "identity-refresh-tokens.json",
            kind="taskflow development refresh tokens/1",
            empty=_RefreshTokens,
            load=_RefreshTokens.load,
            dump=_RefreshTokens.dump,
        )
        self._lock_file = open(data_dir / "identity.lock", "a")  # noqa: SIM115 -- see close
        self._mutex = threading.Lock()
        self.ping()

    def close(self) -> None:
        with self._mutex:
            self._lock_file.close()

    def ping(self) -> None:
        """Both files readable (the readiness check)."""
        with self._mutex:
            self._users.reload()
            self._tokens.reload()

    def add_user(self, user: StoredUser) -> None:
        with self._writing(self._users) as users:
            if users.taken(user.username, user.email):
                raise DuplicateUserError(f"{user.username} or {user.email} is taken")
            users.put(user, time.time())

    def replace_user(self, user: StoredUser) -> None:
        """Store `user` under its id, keeping its creation time (a new id is added)."""
        with self._writing(self._users) as users:
            users.put(user, users.created_at.get(user.id, time.time()))

    def exists(self, username: str, email: str) -> bool:
        with self._reading(self._users) as users:
            return users.taken(username, email)

    def find_by_login(self, login: str) -> StoredUser | None:
        """By username, or by email (as Keycloak's loginWithEmailAllowed)."""
        key = login.casefold()
        with self._reading(self._users) as users:
            user_id = users.by_username.get(key) or users.by_email.get(key)
            return None if user_id is None else users.by_id[user_id]

    def get(self, user_id: str) -> StoredUser | None:
        with self._reading(self._users) as users:
            return users.by_id.get(user_id)

    def add_refresh_token(
        self, token: str, user_id: str, session_id: str, expires_at: float
    ) -> None:
        with self._writing(self._tokens) as tokens:
            tokens.prune(time.time())
            tokens[_token_hash(token)] = _RefreshToken(user_id, session_id, expires_at)

    def rotate_refresh_token(
        self, token: str, successor: str, expires_at: float
    ) -> tuple[str, str] | None:
        """Revokes a live refresh token and stores its successor in the same session, in one
        write: (user id, session id), or None when the token is not live (unknown, expired,
        used already, or its session ended)."""
        with self._writing(self._tokens) as tokens:
            found = tokens.get(_token_hash(token))
            if found is None or found.revoked or found.expires_at <= time.time():
                return None
            found.revoked = True
            tokens.prune(time.time())
            tokens[_token_hash(successor)] = _RefreshToken(
                found.user_id, found.session_id, expires_at
            )
            return found.user_id, found.session_id

    def end_session(self, token: str) -> bool:
        """Logout: every refresh token of the token's login session is revoked (as Keycloak
        ends the session). False when the token was never issued or the session is over."""
        with self._writing(self._tokens) as tokens:
            found = tokens.get(_token_hash(token))
            return found is not None and _revoke_session(tokens, found.session_id)

    def end_session_by_id(self, session_id: str) -> bool:
        """Logout by the session an ID token names (its `sid`). False when it is over already."""
        with self._writing(self._tokens) as tokens:
            return _revoke_session(tokens, session_id)

    @contextmanager
    def _reading(self, file: JsonFile[_Doc]) -> Iterator[_Doc]:
        with self._mutex:
            file.reload()
            yield file.value

    @contextmanager
    def _writing(self, file: JsonFile[_Doc]) -> Iterator[_Doc]:
        """The document to change, written back when the block ends without an exception.
        Each change is made only after its checks passed, so a refused one leaves nothing."""
        with self._mutex:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            try:
                file.reload()
                try:
                    yield file.value
                    file.save()
                except BaseException:
                    file.forget()  # what changed in memory only is read again from disk
                    raise
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)


def _revoke_session(tokens: _RefreshTokens, session_id: str) -> bool:
    """Revokes the session's live refresh tokens; False when none was live."""
    live = [t for t in tokens.values() if t.session_id == session_id and not t.revoked]
    for each in live:
        each.revoked = True
    return bool(live)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
