"""The ordering rule every read model in notify applies: only a newer change replaces state."""

from __future__ import annotations

from taskflow_notify.ordering import UNVERSIONED, is_newer


def test_a_newer_version_replaces_what_is_held():
    assert is_newer(5, 4)
    assert is_newer(1, UNVERSIONED)


def test_a_stale_or_redelivered_version_does_not():
    assert not is_newer(3, 4)  # a late member_added after the removal at 4
    assert not is_newer(4, 4)  # the same change delivered again


def test_unversioned_events_apply_only_over_unversioned_state():
    # Producers from before versions stamp nothing: their events keep the old behaviour
    # among themselves, and never undo a change that carried a version.
    assert is_newer(None, UNVERSIONED)
    assert not is_newer(None, 7)
