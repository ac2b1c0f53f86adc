"""The token is scrubbed from everything newsbot writes, log lines or not."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers.harness import ROOT

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz0123"


@pytest.mark.process
def test_tracebacks_warnings_and_prints_are_scrubbed_too() -> None:
    code = f"""
import logging, sys, threading, warnings
from bot.app.logs import setup_logging
setup_logging(secrets=({TOKEN!r},))
print("stdout: {TOKEN}")
warnings.warn("warning: {TOKEN}")
logging.getLogger("x").error("log: %s", {TOKEN!r})
def fail():
    raise ValueError({TOKEN!r})
t = threading.Thread(target=fail)
t.start(); t.join()
raise RuntimeError("The token `{TOKEN}` was rejected by the server.")
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1
    assert "stdout: <redacted>" in out.stdout
    for shown in ("warning: <redacted>", "log: <redacted>", "The token `<redacted>` was"):
        assert shown in out.stderr, out.stderr
    assert "TEST-token" not in out.stdout + out.stderr
    assert out.stderr.count("ValueError: <redacted>") == 1, "a thread's traceback too"
