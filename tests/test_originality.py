"""No text of the seed report is in the checkout: it stays in ../shared, beside it.

The project was started from one real news report (../shared/seed). Tests may read it
from there; nothing of it is committed. Every text file of the checkout is compared
with it as folded words (``bot.core.normalize.words``): a file fails if it shares a run
of five words with the seed, or more of its 3-word shingles than two reports on the same
events share by chance. Skips when ../shared is not beside the checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.analysis.fingerprint import shingles
from tests.helpers.harness import ROOT, SEED

RUN = 5  # words in a row: "Kirgisistan und Tadschikistan" is a fact, five in a row is a copy
MAX_SHARED = 10  # 3-word shingles, of the seed's ~300: names, dates and stock phrases
SKIP_DIRS = {".git", ".venv", "state", "build", "dist"}
SKIP_ENDS = ("_cache", "__pycache__", ".egg-info")

needs_seed = pytest.mark.skipif(
    not SEED.is_file(), reason=f"the seed report is not at {SEED} (shared/ beside the checkout)"
)


def text_files(root: Path) -> list[tuple[Path, str]]:
    """The checkout's text files and their text: no virtualenv, git data, caches or state."""
    out = []
    for top, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(SKIP_ENDS))
        for name in sorted(files):
            path = Path(top) / name
            if path.stat().st_size < 2_000_000:
                try:
                    out.append((path, path.read_text(encoding="utf-8")))
                except UnicodeDecodeError:
                    continue  # binary
    return out


def copies_of(seed: str, root: Path) -> dict[str, list[str]]:
    """Each file that echoes ``seed`` too closely, with the words it shares."""
    runs, threes = shingles(seed, RUN), shingles(seed)
    found = {}
    for path, text in text_files(root):
        shared_runs = sorted(shingles(text, RUN) & runs)
        shared = shingles(text) & threes
        if shared_runs or len(shared) > MAX_SHARED:
            found[str(path.relative_to(root))] = shared_runs or sorted(shared)
    return found


@needs_seed
def test_no_file_of_the_checkout_copies_the_seed_report() -> None:
    files = [str(p.relative_to(ROOT)) for p, _ in text_files(ROOT)]
    assert "tests/corpus/articles.yaml" in files and len(files) > 100, "the scan saw the tree"
    assert copies_of(SEED.read_text(encoding="utf-8"), ROOT) == {}


@needs_seed
def test_the_check_finds_one_copied_sentence_and_a_close_paraphrase(tmp_path: Path) -> None:
    seed = SEED.read_text(encoding="utf-8")
    sentence = max(seed.split(". "), key=len)  # one sentence, verbatim
    (tmp_path / "copied.yaml").write_text(f"body: |\n  {sentence.upper()}\n", encoding="utf-8")
    # Every fifth word changed: no five-word run survives, but the shingles still pile up.
    words = seed.split()
    (tmp_path / "reworded.txt").write_text(
        " ".join("X" if i % 5 == 4 else w for i, w in enumerate(words)), encoding="utf-8"
    )
    (tmp_path / "own.txt").write_text("Kasachstan, Kirgisistan und Tadschikistan.", "utf-8")
    found = copies_of(seed, tmp_path)
    assert set(found) == {"copied.yaml", "reworded.txt"}, found
