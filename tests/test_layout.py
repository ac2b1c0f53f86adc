"""The tree draws the pipeline: no import cycles, layers respected, PTB only in bot.telegram."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.harness import ROOT

SCRIPT = ROOT / "tools" / "check_imports.py"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_bot_has_no_import_cycles_and_keeps_its_layers() -> None:
    done = run(str(SCRIPT))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no import cycles" in done.stdout and "0 broken" in done.stdout


def test_the_cycle_check_finds_a_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "bot"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from bot import b\n")
    (pkg / "b.py").write_text("from bot import c\n")
    (pkg / "c.py").write_text("import bot.a\n")
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'tools')!r}); "
        "from check_imports import module_cycle; print(module_cycle())"
    )
    done = run("-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = done.stdout.strip()
    assert all(m in found for m in ("bot.a", "bot.b", "bot.c")), found


def test_python_telegram_bot_is_imported_only_under_bot_telegram() -> None:
    outside = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "bot").rglob("*.py")
        if "telegram" not in p.relative_to(ROOT / "bot").parts[:1]
        and any(
            line.lstrip().startswith(("import telegram ", "import telegram.", "from telegram"))
            for line in p.read_text().splitlines()  # top-level and local imports
        )
    ]
    assert outside == []
