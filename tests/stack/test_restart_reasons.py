"""What `scripts/stack up` says when it restarts a running Keycloak. Needs no running stack."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def keycloak_with_state_in(state: Path) -> tuple[Any, Callable[[], str]]:
    """scripts/stack's Keycloak component with its state directory in `state`."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from stacklib.keycloak import Keycloak, realm_digest
    finally:
        sys.path.remove(str(ROOT / "scripts"))

    class KeycloakHere(Keycloak):
        @property
        def dir(self) -> Path:
            return state

    return KeycloakHere(), realm_digest


def test_a_reset_database_is_named_as_the_reason_not_a_changed_realm_file(tmp_path: Path) -> None:
    keycloak, _ = keycloak_with_state_in(tmp_path)
    # No import recorded: `reset postgres`, or a cluster of another major moved aside.
    assert keycloak.restart_reason() == "its database was reset (no realm import recorded)"


def test_a_changed_realm_file_is_named_as_the_reason(tmp_path: Path) -> None:
    keycloak, realm_digest = keycloak_with_state_in(tmp_path)
    keycloak.digest_file.write_text("an older digest\n")
    assert "changed since import" in (keycloak.restart_reason() or "")
    keycloak.digest_file.write_text(realm_digest() + "\n")
    assert keycloak.restart_reason() is None
