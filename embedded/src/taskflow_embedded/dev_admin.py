"""The development administrator: `admin`, with the password TASKFLOW_DEV_ADMIN_PASSWORD.

Without that setting a password is generated once, kept in the data directory (owner-only)
and printed when it is generated, so a fresh `make run` can sign in to /admin/ at once and a
restart keeps the same password.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

USERNAME = "admin"
PASSWORD_FILE = "dev-admin-password"


def admin_password(configured: str | None, data_dir: Path) -> tuple[str, bool]:
    """(the password, whether it was generated just now)."""
    if configured:
        return configured, False
    path = data_dir / PASSWORD_FILE
    if path.exists():
        return path.read_text().strip(), False
    data_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password, True
