"""Prints the container test's figures (build and start times, image size) after the run."""

from __future__ import annotations

import pytest

from tests.container.figures import FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures, after the results: they are for people, not assertions."""
    if FIGURES:
        terminalreporter.section("container test figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
