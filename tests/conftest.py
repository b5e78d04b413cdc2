"""Shared fixtures: ``run`` drives a task on virtual time (see ``actress.testing``)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from actress import testing


@pytest.fixture
def run() -> Callable[..., testing.Outcome[Any]]:
    """Run a task on a virtual clock; return its ``Outcome``."""
    return testing.run


@pytest.fixture
def log() -> list[Any]:
    """A list the test's tasks append to, in the order things happen."""
    return []
