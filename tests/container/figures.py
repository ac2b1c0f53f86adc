"""Figures the container test measured, printed at the end of the run (see conftest.py)."""

FIGURES: dict[str, str] = {}


def note(name: str, value: str) -> None:
    """Record one figure (a time, a size) under ``name``."""
    FIGURES[name] = value
