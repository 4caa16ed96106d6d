"""The development administrator's password: configured, or generated once and kept."""

from pathlib import Path

from taskflow_embedded.dev_admin import PASSWORD_FILE, admin_password


def test_a_generated_password_is_kept_owner_only_and_reused(tmp_path: Path) -> None:
    first, generated = admin_password(None, tmp_path / "data")
    again, generated_again = admin_password(None, tmp_path / "data")

    assert generated
    assert not generated_again
    assert first == again
    assert len(first) >= 16
    assert (tmp_path / "data" / PASSWORD_FILE).stat().st_mode & 0o077 == 0


def test_the_configured_password_wins_and_writes_nothing(tmp_path: Path) -> None:
    assert admin_password("chosen-one", tmp_path) == ("chosen-one", False)
    assert not (tmp_path / PASSWORD_FILE).exists()
