"""Check newsbot's import graph: no cycles between modules, and the layer contracts hold.

    python tools/check_imports.py

Cycles are found on the module graph that grimp builds (the library behind
import-linter), with the standard library's topological sort; the layer and
"python-telegram-bot only in bot.telegram" contracts are import-linter's, in
pyproject.toml. Imports made only for type checking count too: a cycle there
still means two modules that cannot be read apart. Exits 1 naming what broke.
"""

from __future__ import annotations

import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def module_cycle(package: str = "bot") -> list[str] | None:
    """One import cycle among ``package``'s modules, or None when there is none."""
    graph = grimp.build_graph(package)
    deps = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    # A package's __init__ importing its own submodules is not a cycle in the code.
    deps = {m: {d for d in ds if not d.startswith(m + ".")} for m, ds in deps.items()}
    try:
        TopologicalSorter(deps).prepare()
    except CycleError as exc:
        return list(exc.args[1])
    return None


def main() -> int:
    """Print what is wrong and return 1, or return 0."""
    sys.path.insert(0, str(ROOT))
    cycle = module_cycle()
    if cycle:
        print("import cycle: " + " -> ".join(cycle))
        return 1
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout + done.stderr)
        return 1
    print("no import cycles; " + done.stdout.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
