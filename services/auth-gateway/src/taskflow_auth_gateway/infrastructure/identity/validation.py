"""Registration input rules shared by both identity adapters (Keycloak enforces its own too)."""

from __future__ import annotations

import re

from taskflow_auth_gateway.application.ports import InvalidUserDataError, PasswordPolicyError

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,63}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
MIN_PASSWORD_LENGTH = 8  # the realm's policy: length(8) and notUsername and notEmail


def normalise_registration(username: str, email: str) -> tuple[str, str]:
    username = username.strip().lower()
    email = email.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise InvalidUserDataError(
            "username must be 2-64 characters: letters, digits and . _ @ - "
            "(starting with a letter or digit)"
        )
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidUserDataError("email is not a valid address")
    return username, email


def check_password_policy(password: str, username: str, email: str) -> None:
    """The development provider's copy of the realm's password policy."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"Invalid password: minimum length {MIN_PASSWORD_LENGTH}.")
    if password.lower() == username.lower():
        raise PasswordPolicyError("Invalid password: must not be equal to the username.")
    if password.lower() == email.lower():
        raise PasswordPolicyError("Invalid password: must not be equal to the email.")
