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
    # The role a caller's token must carry for /api/v1/admin/* and to sign in to /admin/
    # (Keycloak realm role); signed-in users without it get the 403 page.
    admin_role: str = "admin"
    # Where audit entries are published as admin.audit.recorded.v1 (ADR 0014).
    amqp_url: str = "amqp://guest:guest@127.0.0.1:55672/"
    # How often the audit relay looks for entries still to publish besides being woken by
    # each commit (entries of another replica, or left over while the broker was down).
    audit_relay_poll_seconds: float = Field(default=5.0, gt=0, le=300)

    # The admin web UI's own OIDC client (authorization code + PKCE). The names match what
    # `scripts/stack env` prints and what the realm file imports.
    keycloak_admin_ui_client_id: str = "taskflow-admin"
    keycloak_admin_ui_secret: SecretStr = SecretStr("taskflow-admin-dev-secret")
    # The services whose admin APIs the console calls, at their own ports (not the gateway),
    # with the signed-in administrator's token.
    tasks_url: str = "http://127.0.0.1:8001"
    notify_url: str = "http://127.0.0.1:8003"
    suggest_url: str = "http://127.0.0.1:8002"
    # Seconds one call to another service may take before the page shows it as unavailable.
    upstream_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # How long the dashboard keeps each service's stats and readiness before asking again.
    dashboard_cache_seconds: float = Field(default=15.0, ge=0, le=600)
    # Keycloak's admin API, which the console reads and manages users through with the
    # taskflow-admin client's service account (view-users, query-users, manage-users).
    keycloak_url: str = "http://127.0.0.1:8180"
    keycloak_realm: str = "taskflow"
    # How long a password-reset link sent from the console stays valid.
    password_reset_link_seconds: int = Field(default=12 * 3600, ge=300, le=7 * 24 * 3600)
    # Where the browser is sent to sign in; unset: the issuer's Keycloak authorization endpoint.
    oidc_authorization_url: str | None = None
    # Where this service exchanges codes and refresh tokens; unset: the issuer's token endpoint.
    oidc_token_url: str | None = None
    # Where the browser is sent to end the identity provider's session at logout; unset: the
    # issuer's Keycloak end-session endpoint.
    oidc_end_session_url: str | None = None
    # Seconds one call to the identity provider (code exchange, refresh, keys) may take.
    oidc_timeout_seconds: float = Field(default=10.0, gt=0)

    # Session and CSRF cookies only over https (Secure), as behind TLS; unset: on when
    # TASKFLOW_ENV=production, off otherwise (http://127.0.0.1 in development).
    secure_cookies: bool | None = None

    @property
    def cookies_secure(self) -> bool:
        return self.is_production if self.secure_cookies is None else self.secure_cookies

    def _keycloak_endpoint(self, name: str) -> str:
        return f"{self.oidc_issuer.rstrip('/')}/protocol/openid-connect/{name}"

    @property
    def authorization_url(self) -> str:
        return self.oidc_authorization_url or self._keycloak_endpoint("auth")

    @property
    def token_url(self) -> str:
        return self.oidc_token_url or self._keycloak_endpoint("token")

    @property
    def end_session_url(self) -> str:
        return self.oidc_end_session_url or self._keycloak_endpoint("logout")
