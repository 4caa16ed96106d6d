"""Settings of the embedded entry point (env prefix TASKFLOW_, like every service)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from taskflow_common.settings import BaseServiceSettings

PRODUCTION_REFUSED = (
    "taskflow_embedded refuses to start with TASKFLOW_ENV=production: the embedded mode runs a "
    "development identity provider and a throw-away local PostgreSQL. Deploy the distributed "
    "services."
)


class EmbeddedSettings(BaseServiceSettings):
    service_name: str = "taskflow-embedded"
    host: str = "127.0.0.1"
    port: int = 8080
    # The suite's state, kept across restarts: the PostgreSQL cluster (postgres/, its log and
    # generated passwords) and the development identity's users and signing key.
    data_dir: Path = Path(".data")
    # Usernames that get the administrators' realm role (TASKFLOW_ADMIN_ROLE) when they register
    # (development only).
    dev_admin_usernames: list[str] = []
    # The development administrator `admin` signs in with this password; unset, one is
    # generated into the data directory and printed (dev_admin.py).
    dev_admin_password: SecretStr | None = None

    @property
    def public_url(self) -> str:
        return f"http://{self.host}:{self.port}"
