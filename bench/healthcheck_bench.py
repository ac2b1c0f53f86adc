"""How long ``newsbot healthcheck`` takes, as the container's HEALTHCHECK runs it.

The check runs every minute with a 10 s timeout; it used to take about 3 s (6.3 s
in a busy container) because the command line imported the whole pipeline. This
times the real command as a fresh process against a healthy SQLite store and prints
wall-clock and CPU seconds (figures, not assertions: the machine may be busy)::

    .venv/bin/python bench/healthcheck_bench.py --runs 20
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.store import Store  # noqa: E402


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    """Time ``runs`` healthchecks; print median, min and max wall time and mean CPU."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument(
        "--command",
        default=str(Path(sys.executable).parent / "newsbot"),
        help="the newsbot executable to time (e.g. a wrapper around another checkout)",
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        config.mkdir()
        state = Path(tmp) / "state"  # absolute: older versions read it from the cwd
        (config / "settings.yaml").write_text(f"state_dir: {state}\n")
        store = Store.open(f"sqlite:///{state / 'newsbot.sqlite3'}")
        store.heartbeat()
        store.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
        walls = []
        cpu_before = _cpu()
        for _ in range(args.runs):
            start = time.perf_counter()
            done = subprocess.run(
                [args.command, "--config", str(config), "healthcheck"],
                cwd=tmp,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            walls.append(time.perf_counter() - start)
            if done.returncode != 0:
                print(done.stdout, done.stderr, file=sys.stderr)
                return 1
        cpu = (_cpu() - cpu_before) / args.runs
    print(
        f"newsbot healthcheck, {args.runs} runs: median {statistics.median(walls):.3f} s, "
        f"min {min(walls):.3f} s, max {max(walls):.3f} s wall; {cpu:.3f} s CPU per run "
        f"(load average {os.getloadavg()[0]:.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
