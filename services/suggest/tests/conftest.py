"""Shared fixtures of the suggest service's tests (names prefixed to stay distinct)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The replay server and the fakes live beside the tests, not in the package.
sys.path.insert(0, str(Path(__file__).parent))

from replay_server.server import ReplayServer

# The real-model contract tests are opt-in: `make test-llm` starts the model and sets this.
collect_ignore = [] if os.environ.get("TASKFLOW_TEST_LLM_URL") else ["llm"]


@pytest.fixture(scope="session")
def suggest_replay_server() -> Iterator[ReplayServer]:
    server = ReplayServer().start()
    yield server
    server.stop()
