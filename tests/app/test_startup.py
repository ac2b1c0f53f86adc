"""Start-up problems end in one or two lines that say what to do, and exit code 2.

Before: a state directory the bot could not write ended in an 80-line SQLAlchemy
traceback ("unable to open database file"), and the container restarted into it
again and again; a refused token printed PTB's traceback, with the token in it.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

import bot.app.startup  # noqa: F401  (loaded before a test drops root: see as_nobody)
from bot import __version__
from bot.app.cli import main
from bot.rules.file import load_rules
from bot.store import Store
from tests.fakes.child_env import child_env
from tests.fakes.telegram_api import DEFAULT_TOKEN
from tests.helpers.harness import ROOT, Harness, rss
from tests.helpers.process import Bot, wait_until

NOBODY = 65534
pytestmark = pytest.mark.process  # each problem is met by a real newsbot process


def newsbot(harness: Harness, *args: str, token: str = DEFAULT_TOKEN) -> tuple[int, str]:
    """``newsbot --config <harness> ARGS`` as a process: (exit code, everything it printed)."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(harness.config), *args],
        cwd=harness.root,
        env=child_env(token),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def assert_clear(code: int, output: str, *needles: str) -> None:
    """Exit code 2, no traceback, at most two lines, each needle present."""
    assert code == 2, output
    assert "Traceback" not in output, output
    assert len(output.strip().splitlines()) <= 2, output
    for needle in needles:
        assert needle in output, output


@pytest.mark.parametrize("argv", [["run", "--console"], ["once", "--dry-run"]])
def test_a_corrupt_database(harness: Harness, argv: list[str]) -> None:
    harness.write([])
    db = harness.settings().sqlite_file
    assert db is not None
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database, it was a half-copied file\n" * 100)
    code, out = newsbot(harness, *argv)
    assert_clear(code, out, str(db), "newsbot state restore", "move the file away")
    assert sorted(p.name for p in db.parent.iterdir()) == ["newsbot.sqlite3"]


def test_a_missing_config_directory(harness: Harness) -> None:
    harness.write([])
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(harness.root / "nope")],
        cwd=harness.root,
        env=child_env(DEFAULT_TOKEN),
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = done.stdout + done.stderr
    assert_clear(done.returncode, output.replace("configuration error:\n", ""), "--config DIR")


def test_the_metrics_port_is_taken(harness: Harness) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        harness.write([], metrics_port=port)
        code, out = newsbot(harness, "run", "--console")
    assert_clear(code, out, f"127.0.0.1:{port} is in use", "metrics_port")


def test_telegram_refuses_the_token(harness: Harness) -> None:
    """The fake Bot API answers getMe with 401 for any other token, as Telegram does."""
    harness.site.route("/feed.xml", rss([]))
    harness.write(["/feed.xml"])
    wrong = "999999:WRONG-token_abcdefghijklmnopqrstuvwxyz012"
    code, out = newsbot(harness, "once", token=wrong)
    assert_clear(code, out, "refused the bot token", "TELEGRAM_BOT_TOKEN", "@BotFather")
    assert wrong not in out and "WRONG-token" not in out, "the token is never printed"
    assert harness.telegram.calls("getMe"), "the refusal came from the Bot API"


def test_the_bot_api_cannot_be_reached(harness: Harness) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/bot"
    harness.write([], telegram={"base_url": url})
    code, out = newsbot(harness, "once")
    assert_clear(code, out, f"cannot reach the Telegram Bot API at {url}", "telegram.base_url")
    assert DEFAULT_TOKEN not in out


# ---------------------------------------------------------------- an unwritable state/


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can read (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="newsbot-startup-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def as_nobody(fn: Callable[[], int]) -> tuple[int, str]:
    """Run ``fn`` in a forked child as uid/gid 65534; return (its result, its stderr).

    Root may write anywhere, so "not writable" needs another user. The child is a
    fork: the interpreter and newsbot are loaded already (root's Python is under
    /root, which nobody else may read), only the check itself runs as nobody.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 99
        try:
            os.close(read)
            sys.stderr = open(write, "w", closefd=False)  # noqa: SIM115 (flushed below)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            code = fn()
        except BaseException as exc:  # report anything, then leave without cleanup
            print(f"child failed: {exc!r}", file=sys.stderr)
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as stream:
        err = stream.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), err


def test_the_state_directory_is_not_writable(
    shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, state = shared_dir / "config", shared_dir / "state"
    config.mkdir()
    state.mkdir()
    (config / "settings.yaml").write_text(yaml.safe_dump({"state_dir": str(state)}))
    (config / "feeds.yaml").write_text("feeds: []\n")
    (config / "rules.yaml").write_text((ROOT / "config" / "rules.yaml").read_text())
    for part in (config, *config.iterdir()):
        part.chmod(0o755 if part.is_dir() else 0o644)
    monkeypatch.chdir(shared_dir)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    argv = ["--config", str(config), "run", "--console"]
    if os.getuid() == 0:
        code, err = as_nobody(lambda: main(argv))
    else:
        state.chmod(0o555)
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stderr(buffer):
                code = main(argv)
        finally:
            state.chmod(0o755)
        err = buffer.getvalue()
    uid = NOBODY if os.getuid() == 0 else os.getuid()
    assert_clear(code, err, f"state directory {state} is not writable by uid {uid}", "state_dir")
    assert list(state.iterdir()) == [], "nothing was created"


def test_the_check_passes_a_writable_fresh_state_directory(tmp_path: Path) -> None:
    from bot.app.startup import check_sqlite

    db = tmp_path / "new" / "deeper" / "newsbot.sqlite3"
    check_sqlite(db)  # a folder still to be made, under a writable one: fine
    Store.open(f"sqlite:///{db}").close()
    check_sqlite(db)  # and the database it then holds


# ---------------------------------------------------------------- the log at INFO


def test_info_logs_are_one_start_line_then_a_polls_line_now_and_then(harness: Harness) -> None:
    """Before: seven Alembic lines on every command and ~10 APScheduler lines at start."""
    harness.site.route("/feed.xml", rss([]))
    harness.write(["/feed.xml"], log_json=True)
    process = Bot(harness)
    try:
        process.start()  # a new database: Alembic migrates it from scratch
        wait_until(
            lambda: len([e for e in process.events() if e["event"] == "polls_done"]) >= 1,
            "a first polls line",
            bot=process,
        )
        code, _ = process.stop()
    finally:
        process.cleanup()
    assert code == 0, process.tail()
    events = process.events()
    assert all(e["level"] == "info" for e in events), process.tail()
    assert {e["logger"].split(".")[0] for e in events} == {"bot"}, "no library narrates"
    names = [e["event"] for e in events]
    start = names.index("newsbot_started")
    first = names.index("polls_done")
    # Polling Telegram is the other line at start (replicas: only the leader says it).
    assert set(names[:first]) <= {"newsbot_started", "telegram_polling_started"}, names
    assert names.count("newsbot_started") == 1 and start < first
    stop = names.index("service_stopping")
    assert set(names[first:stop]) == {"polls_done"}, "one line per REPORT_SECONDS, nothing else"
    line = events[start]
    assert line["version"] == __version__ and line["config_dir"] == str(harness.config)
    assert line["database"] == f"sqlite:///{harness.root / 'state' / 'newsbot.sqlite3'}"
    topics = load_rules(harness.config / "rules.yaml").topics
    assert line["feeds"] == 1 and line["topics"] == len(topics) > 0


def test_the_start_line_hides_the_database_password() -> None:
    from bot.app.startup import database_shown
    from bot.config.settings import Settings

    url = "postgresql+psycopg://newsbot:s3cret-pw@db:5432/newsbot"
    assert database_shown(Settings(database_url=url)) == (
        "postgresql+psycopg://newsbot:***@db:5432/newsbot"
    )
