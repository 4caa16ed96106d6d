"""The development identity provider's storage: users and refresh tokens in SQLite,
the signing key as a PEM file, all under the data directory (`.data/` by default)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    session_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
"""

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


class DevIdentityStore:
    """Synchronous SQLite access; callers run it in a thread. One connection, one lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def ping(self) -> None:
        with self._lock:
            self._db.execute("SELECT 1").fetchone()

    def add_user(self, user: StoredUser) -> None:
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO users (id, username, email, password_hash, roles, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        user.id,
                        user.username,
                        user.email,
                        user.password_hash,
                        " ".join(user.roles),
                        time.time(),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise DuplicateUserError(str(exc)) from exc

    def exists(self, username: str, email: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM users WHERE username = ? OR email = ?", (username, email)
            ).fetchone()
        return row is not None

    def find_by_login(self, login: str) -> StoredUser | None:
        """By username, or by email (as Keycloak's loginWithEmailAllowed)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, username, email, password_hash, roles FROM users"
                " WHERE username = ? OR email = ? LIMIT 1",
                (login, login),
            ).fetchone()
        return _user(row)

    def get(self, user_id: str) -> StoredUser | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, username, email, password_hash, roles FROM users WHERE id = ?",
                (user_id,),
            ).fetchone()
        return _user(row)

    def add_refresh_token(
        self, token: str, user_id: str, session_id: str, expires_at: float
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO refresh_tokens (token_hash, user_id, session_id, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (_token_hash(token), user_id, session_id, expires_at),
            )

    def consume_refresh_token(self, token: str) -> tuple[str, str] | None:
        """Revokes a live refresh token (rotation): (user id, session id), or None."""
        digest = _token_hash(token)
        with self._lock:
            cursor = self._db.execute(
                "UPDATE refresh_tokens SET revoked = 1"
                " WHERE token_hash = ? AND revoked = 0 AND expires_at > ?"
                " RETURNING user_id, session_id",
                (digest, time.time()),
            )
            row = cursor.fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def end_session(self, token: str) -> bool:
        """Logout: every refresh token of the token's login session is revoked (as Keycloak
        ends the session). False when the token was never issued or the session is over."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE refresh_tokens SET revoked = 1 WHERE revoked = 0 AND session_id ="
                " (SELECT session_id FROM refresh_tokens WHERE token_hash = ?)",
                (_token_hash(token),),
            )
        return cursor.rowcount > 0


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: tuple[str, str, str, str, str] | None) -> StoredUser | None:
    if row is None:
        return None
    return StoredUser(row[0], row[1], row[2], row[3], tuple(row[4].split()))
