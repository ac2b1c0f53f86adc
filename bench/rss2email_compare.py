"""rss2email doing the at-rest polling of bench/rest_bench.py: CPU of one ``r2e run``.

60 loopback feeds of 30 items, unchanged (rss2email sends ETag/If-Modified-Since
too). rss2email is a cron job, so at a 5-minute interval it runs 12 times an
hour: CPU s/hour = 12 x the CPU of one run over unchanged feeds.

    python3 -m venv /tmp/r2e && /tmp/r2e/bin/pip install rss2email==3.14
    .venv/bin/python bench/rss2email_compare.py --r2e /tmp/r2e/bin/r2e
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.rest_bench import Farm


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--r2e", default="/tmp/r2e/bin/r2e")
    ap.add_argument("--feeds", type=int, default=60)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    farm = Farm(args.feeds, 30)
    threading.Thread(target=farm.serve_forever, daemon=True).start()
    home = Path(tempfile.mkdtemp(prefix="r2e-"))
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "NO_PROXY": "*"}
    env["XDG_DATA_HOME"] = str(home)
    cfg, data = str(home / "r2e.cfg"), str(home / "r2e.json")

    def r2e(*cmd: str) -> None:
        subprocess.run(
            [args.r2e, "-c", cfg, "-d", data, *cmd],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    r2e("new", "bench@example.invalid")
    port = farm.server_address[1]
    for n in range(args.feeds):
        r2e("add", f"f{n}", f"http://127.0.0.1:{port}/f{n}.xml")
    r2e("run", "--no-send")  # first sight: every item recorded, nothing sent
    costs = []
    for _ in range(args.runs):
        before, hits = children_cpu(), farm.not_modified
        r2e("run", "--no-send")
        costs.append(children_cpu() - before)
        print(f"r2e run: {children_cpu() - before:.2f} CPU s, {farm.not_modified - hits} x 304")
    best = min(costs)
    print(
        f"rss2email 3.14, {args.feeds} unchanged feeds: {best:.2f} CPU s per run (min of "
        f"{args.runs}) -> {best * 12:.1f} CPU s/hour at a 5-minute interval"
    )
    farm.shutdown()


if __name__ == "__main__":
    main()
