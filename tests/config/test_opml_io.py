"""OPML import and export through the command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.app.cli import main
from bot.config.feeds import load_feeds
from bot.config.opml import parse_opml
from tests.helpers.harness import ROOT


def test_export_then_import_round_trips_and_merges(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    assert main(["--config", str(config), "feeds", "export"]) == 0
    exported = capsysbinary.readouterr().out
    shipped = load_feeds(config / "feeds.yaml").enabled()
    assert [(u, n) for u, n, _ in parse_opml(exported)] == [(u, n) for u, n, _, _ in shipped]

    opml = tmp_path / "more.opml"
    opml.write_bytes(
        b'<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        b'<outline text="Asia"><outline type="rss" text="Eurasia Review" '
        b'xmlUrl="https://www.eurasiareview.com/feed/"/>'
        + f'<outline type="rss" text="dup" xmlUrl="{shipped[0][0]}"/>'.encode()
        + b"</outline></body></opml>"
    )
    assert main(["--config", str(config), "feeds", "import", str(opml)]) == 0
    assert b"imported 1 new feed" in capsysbinary.readouterr().out
    urls = [f.url for f in load_feeds(config / "feeds.yaml").feeds]
    assert urls[-1] == "https://www.eurasiareview.com/feed/" and len(urls) == len(shipped) + 1
    assert "# The feeds newsbot polls" in (config / "feeds.yaml").read_text()


def test_import_refuses_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    bad = tmp_path / "bad.opml"
    bad.write_text('<opml><body><outline xmlUrl="file:///etc/passwd" text="x"/></body></opml>')
    assert main(["--config", str(config), "feeds", "import", str(bad)]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err
