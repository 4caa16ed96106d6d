"""Unit-test fixtures: handlers over in-memory fakes, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from taskflow_tasks.application.deps import Deps
from taskflow_tasks.application.handlers import CommandBus

from ..fakes import FakeStore, FakeUnitOfWork  # type: ignore[import-not-found]

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def fake_store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def commands(fake_store: FakeStore) -> CommandBus:
    return CommandBus(Deps(uow=lambda: FakeUnitOfWork(fake_store), clock=lambda: NOW))
