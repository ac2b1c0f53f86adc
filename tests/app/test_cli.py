"""The command line's traps, each found by trying newsbot as a new user would.

``--config`` after the command, a help text that is plain and complete, ``--version``,
``once`` when every feed failed, console alerts without their link, a dry run or a
healthcheck that leaves files behind.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import __version__
from bot.app.cli import _parser, main
from bot.store import Store, schema
from tests.helpers.harness import ROOT, Harness, rss

ITEM = {
    "title": "Tokajew: OVKS-Truppen verlassen Kasachstan",
    "description": "Präsident Tokajew: OVKS-Truppen verlassen Kasachstan binnen zehn Tagen.",
}


def tree(root: Path) -> dict[str, str]:
    """Every file and folder under ``root``: relative path -> content hash (or 'dir')."""
    out = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        out[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def subcommands(parser) -> dict[str, object]:
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return dict(actions[0].choices) if actions else {}


# ---------------------------------------------------------------- --config, --help, --version


@pytest.mark.parametrize(
    "argv",
    [
        ["check-config", "--config", "{config}"],
        ["--config", "/nowhere", "check-config", "--config", "{config}"],  # the last one wins
        ["feeds", "export", "--config", "{config}"],
        ["feeds", "--config", "{config}", "export"],
    ],
)
def test_config_is_accepted_after_the_command(
    harness: Harness, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    harness.write(["/feed.xml"])
    assert main([a.format(config=harness.config) for a in argv]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "config OK" in out or "<opml" in out


def test_once_takes_config_after_the_command(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    harness.site.route("/feed.xml", rss([]))
    harness.write(["/feed.xml"])
    assert main(["once", "--console", "--config", str(harness.config)]) == 0
    assert "cycle: 1 feeds" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert (
        capsys.readouterr().out.strip()
        == f"newsbot {project['version']}"
        == (f"newsbot {__version__}")
    )


def help_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return capsys.readouterr().out


def test_help_lists_every_command_in_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    top = help_text([], capsys)
    commands = subcommands(_parser())
    assert set(commands) == {
        "run", "once", "check-config", "test-rules", "feeds", "healthcheck", "state"
    }  # fmt: skip
    for name in commands:
        assert re.search(rf"^\s+{re.escape(name)}\s", top, re.M), f"{name} missing from --help"
    assert "--version" in top and "--config" in top and "TELEGRAM_BOT_TOKEN" in top
    pages = [top]
    for name, sub in commands.items():
        pages.append(help_text([name], capsys))
        for action in subcommands(sub):
            pages.append(help_text([name, action], capsys))
    for page in pages:
        assert "``" not in page and ":class:" not in page, page  # no reStructuredText
        assert "--config DIR" in page, "every command takes --config"


# ---------------------------------------------------------------- once


def test_once_fails_and_says_so_when_every_feed_failed(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    harness.site.route("/a.xml", "gone", status=404)
    harness.site.route("/b.xml", "down", status=503)
    harness.write(["/a.xml", "/b.xml"])
    assert main(["--config", str(harness.config), "once", "--console"]) == 1
    err = capsys.readouterr().err
    assert "every feed failed (2 of 2)" in err and re.search(r"HTTP (404|503)", err), err

    harness.site.route("/b.xml", rss([]))  # one feed works: the cycle did its job
    assert main(["--config", str(harness.config), "once", "--console"]) == 0
    assert "every feed failed" not in capsys.readouterr().err


def test_console_alerts_include_the_article_url(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    site = harness.site
    link = site.url("/article/1?utm=x&id=2")
    site.route("/feed.xml", rss([]))
    harness.write(["/feed.xml"])
    assert main(["--config", str(harness.config), "once", "--console"]) == 0  # first sight
    site.route("/feed.xml", rss([{**ITEM, "link": link.replace("&", "&amp;")}]))
    capsys.readouterr()
    assert main(["--config", str(harness.config), "once", "--console"]) == 0
    out = capsys.readouterr().out
    assert "=== alert 1 ===" in out
    assert link in out.splitlines(), out


# ---------------------------------------------------------------- writing nothing


def test_dry_run_creates_no_database(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    harness.site.route("/feed.xml", rss([{**ITEM, "link": harness.site.url("/a")}]))
    harness.write(["/feed.xml"])
    before = tree(harness.root)
    assert main(["--config", str(harness.config), "once", "--dry-run"]) == 0
    assert "first poll, 1 existing item(s) would be recorded" in capsys.readouterr().out
    assert tree(harness.root) == before


def test_dry_run_leaves_an_existing_database_byte_identical(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    site = harness.site
    site.route("/feed.xml", rss([]))
    harness.write(["/feed.xml"])
    assert main(["--config", str(harness.config), "once", "--console"]) == 0
    store = Store.open(harness.settings().db_url)
    store.subs.subscribe(77, "kazakhstan")
    store.close()
    # New news, a new feed in feeds.yaml, and a feed gone: all of it would write rows.
    site.route("/feed.xml", rss([{**ITEM, "link": site.url("/missing")}]))
    site.route("/new.xml", rss([]))
    harness.write(["/feed.xml", "/new.xml"])
    before = tree(harness.root)
    assert "newsbot.sqlite3" in "".join(before)
    capsys.readouterr()

    assert main(["--config", str(harness.config), "once", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "=== would send to chat 77 ===" in out, out
    assert "- Feed /new.xml: first poll" in out
    assert tree(harness.root) == before, "the dry run changed files"

    assert main(["--config", str(harness.config), "once", "--console"]) == 0
    assert "=== alert 1 ===" in capsys.readouterr().out, "the real run still alerts"


@pytest.mark.parametrize(
    "argv",
    [
        ["healthcheck"],
        ["check-config"],
        ["feeds", "export"],
        ["test-rules", "{root}/article.txt"],
    ],
)
def test_read_only_commands_create_nothing(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    """Before: ``healthcheck`` in any directory created ./state (and a database)."""
    harness.write(["/feed.xml"])
    (harness.root / "article.txt").write_text("Tokajew: OVKS-Truppen verlassen Kasachstan.")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    before = tree(tmp_path)
    code = main(["--config", str(harness.config), *(a.format(root=harness.root) for a in argv)])
    assert code == (1 if argv == ["healthcheck"] else 0)
    assert tree(tmp_path) == before


def test_dry_run_on_postgresql_changes_no_row(
    harness: Harness, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    site = harness.site
    site.route("/feed.xml", rss([]))
    harness.write(["/feed.xml"], database_url=pg_url)
    assert main(["--config", str(harness.config), "once", "--console"]) == 0
    store = Store.open(pg_url)
    store.subs.subscribe(78, "kazakhstan")
    site.route("/feed.xml", rss([{**ITEM, "link": site.url("/missing")}]))
    site.route("/new.xml", rss([]))
    harness.write(["/feed.xml", "/new.xml"], database_url=pg_url)

    def snapshot() -> dict[str, list]:
        with store.engine.connect() as conn:
            return {
                t.name: sorted(map(repr, conn.execute(sa.select(t)).all()))
                for t in schema.metadata.sorted_tables
            }

    before = snapshot()
    capsys.readouterr()
    try:
        assert main(["--config", str(harness.config), "once", "--dry-run"]) == 0
        assert "=== would send to chat 78 ===" in capsys.readouterr().out
        assert snapshot() == before, "the dry run wrote to PostgreSQL"
    finally:
        store.close()
