"""Config edits from chat replace the file whole, durably, with the mode it had.

Found in issue 17: chat edits left rules.yaml at mode 0600 (the temporary file's)
with no fsync, so another user of a shared config/ lost read access, and a power
cut could leave an empty file behind the rename.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from bot.config.edit import edit_feeds
from bot.rules.edit import add_term, edit_rules
from tests.helpers.harness import ROOT


@pytest.mark.parametrize("mode", [0o644, 0o664, 0o640])
def test_an_edit_keeps_the_files_mode(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "rules.yaml"
    shutil.copy(ROOT / "config" / "rules.yaml", path)
    path.chmod(mode)
    edit_rules(path, lambda doc: add_term(doc, "csto", "Zzzterm"))
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert "Zzzterm" in path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["rules.yaml"], "no temporary file left"


def test_an_edit_is_flushed_to_disk_before_and_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://a.example/feed\n    name: A\n", encoding="utf-8")
    synced: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    def replace(src: str, dst: Path) -> None:
        synced.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    edit_feeds(
        path, lambda doc: doc["feeds"].append({"url": "https://b.example/feed", "name": "B"})
    )
    assert synced == ["file", "rename", "dir"]
    assert "b.example" in path.read_text(encoding="utf-8")
