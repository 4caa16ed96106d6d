"""Admin's settings: only this service's fields on top of the shared base."""

from __future__ import annotations

from pydantic import Field, SecretStr

from taskflow_common.settings import BaseServiceSettings


class AdminSettings(BaseServiceSettings):
    service_name: str = "admin"
    host: str = "127.0.0.1"
    port: int = 8004
    # Origins besides the request's own (scheme and host as the gateway forwards them) that may
    # POST forms, e.g. ["https://taskflow.example.com"] when the public host differs.
    csrf_trusted_origins: list[str] = Field(default_factory=list)
    database_url: str = "postgresql://taskflow:taskflow@127.0.0.1:55432/taskflow"
    db_schema: str = "admin"
    secret_key: SecretStr = SecretStr("admin-insecure-dev-key")
    debug: bool = False
    # The role a caller's token must carry for /api/v1/admin/* (Keycloak realm role).
    admin_role: str = "admin"
