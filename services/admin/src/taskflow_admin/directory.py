"""The realm's users, through Keycloak's admin API (python-keycloak), as the console sees them.

The adapter authenticates as the taskflow-admin client's service account, whose only roles
are realm-management's view-users, query-users and manage-users (the realm file). Who asked
for a change is the signed-in administrator, recorded in the audit log by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakError

from taskflow_common.problems import Problem, ProblemError


@dataclass(frozen=True)
class DirectoryUser:
    id: str
    username: str
    email: str
    first_name: str
    last_name: str
    enabled: bool
    email_verified: bool
    created_at_ms: int | None
    is_admin: bool

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "enabled": self.enabled,
            "email_verified": self.email_verified,
            "created_at_ms": self.created_at_ms,
            "is_admin": self.is_admin,
        }


@dataclass(frozen=True)
class UserPage:
    users: list[DirectoryUser]
    total: int


class UserDirectory(Protocol):
    def search(self, query: str, *, first: int, limit: int) -> UserPage: ...

    def get(self, user_id: str) -> DirectoryUser: ...

    def set_enabled(self, user_id: str, enabled: bool) -> None: ...

    def send_password_reset(self, user_id: str) -> None: ...

    def set_admin(self, user_id: str, admin: bool) -> None: ...


class DirectoryUnavailableError(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(Problem(status=503, type="identity-provider-unavailable", detail=detail))


class UnavailableDirectory:
    """Where no identity provider admin API exists (the embedded mode's development
    provider): every call answers a clear 503 problem instead of failing obscurely."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def _refuse(self) -> Any:
        raise DirectoryUnavailableError(self._reason)

    def search(self, query: str, *, first: int, limit: int) -> UserPage:
        return self._refuse()

    def get(self, user_id: str) -> DirectoryUser:
        return self._refuse()

    def set_enabled(self, user_id: str, enabled: bool) -> None:
        self._refuse()

    def send_password_reset(self, user_id: str) -> None:
        self._refuse()

    def set_admin(self, user_id: str, admin: bool) -> None:
        self._refuse()


def _not_found() -> ProblemError:
    return ProblemError(Problem(status=404, type="not-found", detail="No such user."))


class KeycloakUserDirectory:
    def __init__(
        self,
        *,
        server_url: str,
        realm: str,
        client_id: str,
        client_secret: str,
        admin_role: str,
        reset_link_seconds: int,
        timeout: float = 10.0,
    ) -> None:
        # Tokens of the service account are fetched on first use and refreshed by the library.
        connection = KeycloakOpenIDConnection(
            server_url=server_url.rstrip("/") + "/",
            realm_name=realm,
            user_realm_name=realm,
            client_id=client_id,
            client_secret_key=client_secret,
            grant_type="client_credentials",
            timeout=int(timeout),
        )
        self._admin = KeycloakAdmin(connection=connection)
        self._admin_role = admin_role
        self._reset_link_seconds = reset_link_seconds

    def search(self, query: str, *, first: int, limit: int) -> UserPage:
        params: dict[str, Any] = {"first": first, "max": limit, "briefRepresentation": True}
        count_params: dict[str, Any] = {}
        if query:
            params["search"] = count_params["search"] = query
        rows = self._call(lambda: self._admin.get_users(params))
        total = self._call(lambda: self._admin.users_count(count_params))
        admins = self._admin_ids()
        return UserPage([_user(row, row["id"] in admins) for row in rows], int(total))

    def get(self, user_id: str) -> DirectoryUser:
        row = self._call(lambda: self._admin.get_user(user_id), missing=True)
        roles = self._call(lambda: self._admin.get_realm_roles_of_user(user_id), missing=True)
        return _user(row, any(r.get("name") == self._admin_role for r in roles))

    def set_enabled(self, user_id: str, enabled: bool) -> None:
        self._call(lambda: self._admin.update_user(user_id, {"enabled": enabled}), missing=True)

    def send_password_reset(self, user_id: str) -> None:
        """Keycloak emails the user a link to set a new password (the realm's SMTP server)."""
        self._call(
            lambda: self._admin.send_update_account(
                user_id, ["UPDATE_PASSWORD"], lifespan=self._reset_link_seconds
            ),
            missing=True,
        )

    def set_admin(self, user_id: str, admin: bool) -> None:
        role = self._call(lambda: self._admin.get_realm_role(self._admin_role))
        if admin:
            self._call(lambda: self._admin.assign_realm_roles(user_id, [role]), missing=True)
        else:
            self._call(
                lambda: self._admin.delete_realm_roles_of_user(user_id, [role]), missing=True
            )

    def _admin_ids(self) -> set[str]:
        members = self._call(
            lambda: self._admin.get_realm_role_members(
                self._admin_role, {"briefRepresentation": True}
            )
        )
        return {m["id"] for m in members}

    def _call(self, call: Any, *, missing: bool = False) -> Any:
        try:
            return call()
        except KeycloakError as exc:
            code = getattr(exc, "response_code", None)
            if missing and code == 404:
                raise _not_found() from exc
            if code == 400:
                raise ProblemError(
                    Problem(status=422, type="identity-provider-refused", detail=_message(exc))
                ) from exc
            raise DirectoryUnavailableError(
                f"Keycloak's admin API answered {code or 'nothing'}: {_message(exc)}"
            ) from exc
        except (OSError, ConnectionError) as exc:
            raise DirectoryUnavailableError(f"Keycloak's admin API is unreachable: {exc}") from exc


def _message(exc: KeycloakError) -> str:
    text = getattr(exc, "error_message", "") or str(exc)
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return str(text)[:300]


def _user(row: dict[str, Any], is_admin: bool) -> DirectoryUser:
    return DirectoryUser(
        id=str(row["id"]),
        username=str(row.get("username") or ""),
        email=str(row.get("email") or ""),
        first_name=str(row.get("firstName") or ""),
        last_name=str(row.get("lastName") or ""),
        enabled=bool(row.get("enabled")),
        email_verified=bool(row.get("emailVerified")),
        created_at_ms=row.get("createdTimestamp"),
        is_admin=is_admin,
    )
