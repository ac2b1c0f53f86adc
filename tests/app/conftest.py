"""Fixtures for the tests that run ``newsbot`` as a child process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.harness import Harness
from tests.helpers.process import Bot


@pytest.fixture
def bot(harness: Harness) -> Iterator[Bot]:
    """A ``newsbot run`` child, stopped and cleaned up after the test."""
    process = Bot(harness)
    try:
        yield process
    finally:
        process.cleanup()
