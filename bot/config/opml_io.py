"""OPML import and export of the feed list (``newsbot feeds import|export``).

Imported feeds are merged into ``config/feeds.yaml`` through the same validated,
comment-preserving edit that chat commands use; feeds already listed are skipped.
"""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.config.edit import edit_feeds
from bot.config.feeds import load_feeds
from bot.config.opml import parse_opml, to_opml
from bot.core.errors import ConfigError


def import_opml(feeds_path: Path, opml: bytes) -> int:
    """Add every feed in the OPML document that the list lacks; return how many."""
    incoming = parse_opml(opml)
    known = {f.url for f in load_feeds(feeds_path).feeds}
    fresh = [(url, name, lang) for url, name, lang in incoming if url not in known]

    def add(doc: CommentedMap) -> None:
        if doc.get("feeds") is None:
            doc["feeds"] = CommentedSeq()
        for url, name, lang in fresh:
            entry = CommentedMap(url=url, name=(name or url)[:200])
            if lang:
                entry["language"] = lang
            doc["feeds"].append(entry)

    if fresh:
        edit_feeds(feeds_path, add)
    return len(fresh)


def export_opml(feeds_path: Path) -> bytes:
    """The enabled feeds as an OPML 2.0 document."""
    feeds = load_feeds(feeds_path)
    return to_opml([(f.url, f.name, f.language) for f in feeds.feeds if f.enabled], "newsbot feeds")


def read_source(source: str) -> bytes:
    """The bytes of a file path (``-`` is not supported: OPML files are small, name one)."""
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
