"""Settings of the embedded entry point (env prefix TASKFLOW_, like every service)."""

from __future__ import annotations

from pathlib import Path

from taskflow_common.settings import BaseServiceSettings


class EmbeddedSettings(BaseServiceSettings):
    service_name: str = "taskflow-embedded"
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path(".data")
    # Usernames that get the administrators' realm role (TASKFLOW_ADMIN_ROLE) when they register
    # (development only).
    dev_admin_usernames: list[str] = []

    @property
    def public_url(self) -> str:
        return f"http://{self.host}:{self.port}"
