"""Shared fixtures of the suggest service's tests (names prefixed to stay distinct)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The replay server and the fakes live beside the tests, not in the package.
sys.path.insert(0, str(Path(__file__).parent))

from replay_server.server import ReplayServer


@pytest.fixture(scope="session")
def suggest_replay_server() -> Iterator[ReplayServer]:
    server = ReplayServer().start()
    yield server
    server.stop()
