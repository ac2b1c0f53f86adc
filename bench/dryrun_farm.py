"""``newsbot once --dry-run`` over the benchmark farm: a behaviour check for refactors.

Serves a deterministic farm (bench/benchlib.py), runs the real ``newsbot once
--dry-run`` process against it with every item young enough to alert, and prints
what it would send, blocks sorted (feeds are polled concurrently, so their order
varies). Two code versions that print the same text behave the same on the farm::

    .venv/bin/python bench/dryrun_farm.py > before.txt
    # ... change the code ...
    .venv/bin/python bench/dryrun_farm.py > after.txt && diff before.txt after.txt
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import ROOT, FarmSpec, farm_main, write_config


def _blocks(text: str) -> list[str]:
    """The output split into one block per alert or note, variable parts blanked."""
    text = re.sub(r":\d{4,5}/", ":PORT/", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<time> UTC", text)
    blocks = re.split(r"\n(?==== )|\n(?=- )|\n(?=! )", text.strip())
    return sorted(b.strip() for b in blocks if b.strip())


def main() -> int:
    """Serve the farm, run the dry run, print its sorted output."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--feeds", type=int, default=20)
    p.add_argument("--items", type=int, default=20)
    p.add_argument("--on-topic", type=float, default=0.2)
    p.add_argument(
        "--bot-root",
        type=Path,
        default=ROOT,
        help="run the bot from this checkout (compare two versions on one farm)",
    )
    args = p.parse_args()
    ctx = multiprocessing.get_context("spawn")
    conn, end = ctx.Pipe()
    spec = FarmSpec(args.feeds, args.items, on_topic=args.on_topic, start_full=True)
    farm = ctx.Process(target=farm_main, args=(end, spec), daemon=True)
    farm.start()
    try:
        _, info = conn.recv()
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(
                Path(tmp),
                info["feeds"],
                "http://127.0.0.1:9/bot",
                host_interval=0.0,
                extra={"alerts": {"first_poll_max_age_hours": 10_000}},
            )
            env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
            env.pop("TELEGRAM_BOT_TOKEN", None)
            env["PYTHONPATH"] = str(args.bot_root)
            done = subprocess.run(
                [sys.executable, "-m", "bot", "--config", str(config), "once", "--dry-run"],
                cwd=tmp,  # python -m bot: PYTHONPATH's bot wins over the installed one
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
        print("\n\n".join(_blocks(done.stdout)))
        summary = [line for line in done.stderr.splitlines() if line.startswith("cycle:")]
        print("\n" + "\n".join(summary))
        return done.returncode
    finally:
        conn.send("stop")
        farm.join(10)


if __name__ == "__main__":
    sys.exit(main())
