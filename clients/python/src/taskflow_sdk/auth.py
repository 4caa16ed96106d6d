"""Tokens, and where they are kept: the caller's choice through a three-method protocol."""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from taskflow_sdk.models import TokenResponse

# Refresh this long before the access token expires, so a request never leaves with a token
# that dies on the way (the services allow only a few seconds of clock skew).
REFRESH_MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class Tokens:
    """A session: the access token, the refresh token and when each expires (epoch seconds)."""

    access_token: str
    refresh_token: str | None
    access_expires_at: float
    refresh_expires_at: float | None

    @classmethod
    def from_response(cls, answer: TokenResponse, now: float | None = None) -> Tokens:
        now = time.time() if now is None else now
        return cls(
            access_token=answer.access_token,
            refresh_token=answer.refresh_token,
            access_expires_at=now + answer.expires_in,
            refresh_expires_at=now + answer.refresh_expires_in,
        )

    def access_fresh(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return now < self.access_expires_at - REFRESH_MARGIN_SECONDS

    def refreshable(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        if self.refresh_token is None:
            return False
        return self.refresh_expires_at is None or now < self.refresh_expires_at


class TokenStore(Protocol):
    """Where a client keeps its session between runs (memory, a file, a keyring...)."""

    def load(self) -> Tokens | None: ...

    def save(self, tokens: Tokens) -> None: ...

    def clear(self) -> None: ...


class MemoryTokenStore:
    """The default: the session lives as long as the client object."""

    def __init__(self, tokens: Tokens | None = None) -> None:
        self._tokens = tokens

    def load(self) -> Tokens | None:
        return self._tokens

    def save(self, tokens: Tokens) -> None:
        self._tokens = tokens

    def clear(self) -> None:
        self._tokens = None


class FileTokenStore:
    """A JSON file readable by its owner only (mode 0600), replaced atomically on every save."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def load(self) -> Tokens | None:
        try:
            data = json.loads(self.path.read_text())
            return Tokens(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            return None  # a damaged cache is a logged-out session, not a crash

    def save(self, tokens: Tokens) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # mkstemp creates the file 0600, so the tokens are never readable by others, not even
        # between the write and the rename.
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".tokens-")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(asdict(tokens), handle)
            os.chmod(temp, 0o600)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
