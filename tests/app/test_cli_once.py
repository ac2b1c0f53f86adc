"""``newsbot once``: the same cycle as ``run``, once; ``--dry-run`` changes nothing."""

from __future__ import annotations

import pytest

from bot.app.cli import main
from tests.helpers.harness import Harness, rss

ITEM = {
    "title": "Tokajew: OVKS-Truppen verlassen Kasachstan",
    "link": "/missing-page",
    "description": "Präsident Tokajew: OVKS-Truppen verlassen Kasachstan binnen zehn Tagen.",
}


def once(harness: Harness, *flags: str) -> int:
    return main(["--config", str(harness.config), "once", "--console", *flags])


def test_once_first_sight_then_alert_once_and_dry_run_changes_nothing(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    site = harness.site
    site.route("/feed.xml", rss([]))
    harness.write(["/feed.xml"])
    assert once(harness) == 0
    assert "=== alert" not in capsys.readouterr().out
    assert site.hits("/feed.xml") == 1, "the feed was polled (and was empty)"

    site.route("/feed.xml", rss([{**ITEM, "link": site.url("/missing-page")}]))
    assert once(harness, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "=== would send to chat 0 ===" in out
    assert "Tokajew: OVKS-Truppen verlassen Kasachstan" in out
    assert "feed's own text" in out  # the page 404s, so the feed text stood in
    assert site.hits("/missing-page") == 1

    assert once(harness) == 0  # the dry run recorded nothing: the real run alerts
    out = capsys.readouterr().out
    assert out.count("=== alert") == 1
    assert "• Kazakhstan:" in out and "• CSTO:" in out and "• Tokayev:" in out

    assert once(harness) == 0
    assert "=== alert" not in capsys.readouterr().out
    assert site.hits("/feed.xml") == 4, "polled again: the item is known, not missed"
    assert site.hits("/missing-page") == 2, "and not analysed again"


def test_once_without_token_or_console_refuses(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    harness.write([])
    assert main(["--config", str(harness.config), "once"]) == 2
    assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err
