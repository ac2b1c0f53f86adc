"""Where the shared corpora are: ``../shared`` beside the checkout, never inside the project.

They are other people's data, read in place. A git worktree sits one level deeper
than the main checkout (``/work/wt/<name>`` beside ``/work/main``), so the folder
is looked for beside the checkout and beside its parent; ``NEWSBOT_SHARED`` names
it outright. Tests that need a corpus skip, naming the folder, when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _shared() -> Path:
    if os.environ.get("NEWSBOT_SHARED"):
        return Path(os.environ["NEWSBOT_SHARED"])
    for candidate in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared"


SHARED = _shared()
REALWORLD = SHARED / "corpora" / "realworld"
FEEDS = REALWORLD / "feeds"
PAGES = REALWORLD / "pages"


def needs(path: Path) -> pytest.MarkDecorator:
    """Skip unless ``path`` exists, saying which folder is missing."""
    return pytest.mark.skipif(
        not path.exists(),
        reason=f"{path} is absent: the shared corpora live beside the checkout, in ../shared",
    )
