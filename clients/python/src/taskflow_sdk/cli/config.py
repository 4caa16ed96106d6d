"""Where the CLI keeps the server URL and the session: the user's config directory, 0600."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from taskflow_sdk.auth import FileTokenStore

DEFAULT_SERVER = "http://127.0.0.1:8080"


def config_dir(override: str | None = None) -> Path:
    return Path(override) if override else Path(platformdirs.user_config_dir("taskflow"))


@dataclass
class Profile:
    """The config directory's contents: `config.json` (server) and `tokens.json` (session)."""

    directory: Path

    @property
    def tokens(self) -> FileTokenStore:
        return FileTokenStore(self.directory / "tokens.json")

    def server(self) -> str | None:
        try:
            value = json.loads((self.directory / "config.json").read_text()).get("server")
        except (FileNotFoundError, ValueError, AttributeError):
            return None
        return str(value) if value else None

    def save_server(self, url: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".config-")
        with os.fdopen(fd, "w") as handle:
            json.dump({"server": url}, handle)
        os.chmod(temp, 0o600)
        os.replace(temp, self.directory / "config.json")
