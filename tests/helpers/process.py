"""``newsbot`` as a child process, polling waits that fail with the bot's log, import probes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest

from bot.app.cli import _parser
from tests.fakes.child_env import child_env
from tests.fakes.telegram_api import DEFAULT_TOKEN
from tests.helpers.harness import ROOT, Harness

T = TypeVar("T")
STOP_LIMIT = 10.0  # seconds from SIGTERM to exit, at most
FRESH = {"alerts": {"first_poll_max_age_hours": 24}, "log_json": True}


def newsbot(
    harness: Harness, *args: str, token: str = DEFAULT_TOKEN
) -> subprocess.CompletedProcess[str]:
    """One short-lived ``newsbot`` command, as the container's healthcheck runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(harness.config), *args],
        cwd=harness.root,
        env=child_env(token),
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_until(
    check: Callable[[], T], what: str, timeout: float = 20.0, bot: Bot | None = None
) -> T:
    """Poll ``check`` every 50 ms until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if bot is not None and bot.proc is not None and bot.proc.poll() is not None:
            pytest.fail(f"newsbot exited ({bot.proc.returncode}) waiting for {what}\n{bot.tail()}")
        if time.monotonic() > deadline:
            tail = bot.tail() if bot is not None else ""
            pytest.fail(f"timed out after {timeout} s waiting for {what}\n{tail}")
        time.sleep(0.05)


class Bot:
    """``newsbot ... run`` in a child process, its output in a log file per start."""

    def __init__(
        self, harness: Harness, *, token: str = DEFAULT_TOKEN, wrap: Sequence[str] = ()
    ) -> None:
        """``wrap``: a command the bot runs under (``unshare … sh -c '…; exec "$@"'``)."""
        self.harness, self.token, self.wrap = harness, token, list(wrap)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log = harness.root / "bot-0.log"

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        self.log = self.harness.root / f"bot-{self.starts}.log"
        command = [sys.executable, "-m", "bot", "--config", str(self.harness.config), "run"]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [*self.wrap, *command],
                cwd=self.harness.root,
                env=child_env(self.token),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, like a container
            )

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (settings set ``log_json``)."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line still being written
        return out

    def event(self, name: str) -> dict[str, Any] | None:
        return next((e for e in self.events() if e.get("event") == name), None)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "--- newsbot log ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> tuple[int, float]:
        """Send ``sig``; return (exit code, seconds until the process was gone)."""
        assert self.proc is not None
        start = time.monotonic()
        if sig == signal.SIGKILL:  # a crash takes the whole tree, extraction workers too
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"newsbot did not exit within {timeout} s of signal {sig}\n{self.tail()}")
        return code, time.monotonic() - start

    def cleanup(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # and any orphaned workers
            self.proc.wait()


def parses(argv: list[str]) -> bool:
    try:
        _parser().parse_args(argv)
    except SystemExit:
        return False
    return True


def loaded(code: str, *modules: str) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()
