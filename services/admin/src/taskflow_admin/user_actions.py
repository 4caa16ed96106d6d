"""What an administrator does to a realm user; each action is audited with before and after.

The state before and after comes from Keycloak itself (read again after the change), so the
audit entry says what the identity provider holds, not what the console asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from taskflow_admin.audit import Actor, record_action
from taskflow_admin.directory import DirectoryUser, UserDirectory

UserAction = Literal["enable", "disable", "reset_password", "grant_admin", "revoke_admin"]
USER_ACTIONS: tuple[UserAction, ...] = (
    "enable",
    "disable",
    "reset_password",
    "grant_admin",
    "revoke_admin",
)


def _audited(
    actor: Actor,
    directory: UserDirectory,
    user_id: str,
    action: str,
    change: Callable[[], None],
) -> DirectoryUser:
    before = directory.get(user_id)
    change()
    after = directory.get(user_id)
    record_action(
        actor,
        action=f"user.{action}",
        target_type="user",
        target_id=user_id,
        before=before.public(),
        after=after.public(),
        detail={"username": after.username},
    )
    return after


def user_act(
    actor: Actor, directory: UserDirectory, user_id: str, action: UserAction
) -> DirectoryUser:
    changes: dict[UserAction, Callable[[], None]] = {
        "enable": lambda: directory.set_enabled(user_id, True),
        "disable": lambda: directory.set_enabled(user_id, False),
        "reset_password": lambda: directory.send_password_reset(user_id),
        "grant_admin": lambda: directory.set_admin(user_id, True),
        "revoke_admin": lambda: directory.set_admin(user_id, False),
    }
    return _audited(actor, directory, user_id, action, changes[action])
