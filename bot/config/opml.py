"""OPML import and export of the feed list (what every feed reader exchanges).

Imported feeds are merged into ``config/feeds.yaml`` through the same validated,
comment-preserving edit that chat commands use; feeds already listed are skipped.

An OPML file comes from somewhere else, so it is parsed as hostile XML: a
document with a DOCTYPE is refused before and after parsing (no entity can be
declared, so none can expand or read a file), and lxml's parser has entity
resolution, network access and huge trees switched off as a second line.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import lxml.etree
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.config.edit import edit_feeds
from bot.config.feeds import load_feeds
from bot.core.errors import ConfigError

Feed = tuple[str, str, str | None]  # (xmlUrl, title, language)
MAX_BYTES = 5_000_000
_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _parser() -> lxml.etree.XMLParser:
    return lxml.etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _root(data: bytes) -> lxml.etree._Element:
    if len(data) > MAX_BYTES:
        raise ConfigError(f"OPML: {len(data)} bytes is more than the {MAX_BYTES} allowed")
    # Removing NULs makes the check see through UTF-16 and UTF-32 too.
    if any(d in data.replace(b"\x00", b"").upper() for d in _DECLARATIONS):
        raise ConfigError("OPML: documents with a DOCTYPE or entity declarations are refused")
    try:
        root = lxml.etree.fromstring(data, _parser())
    except lxml.etree.XMLSyntaxError as exc:
        raise ConfigError(f"OPML: not well-formed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        raise ConfigError("OPML: documents with a DOCTYPE or entity declarations are refused")
    if root.tag != "opml":
        raise ConfigError(f"OPML: the root element is <{root.tag}>, not <opml>")
    return root


def _attr(outline: lxml.etree._Element, name: str) -> str:
    """An attribute by case-insensitive name (exporters write xmlUrl, xmlurl, XMLURL)."""
    for key, value in outline.attrib.items():
        if isinstance(key, str) and key.lower() == name:
            return " ".join(value.split())
    return ""


def _same_feed_key(url: str) -> str:
    """Scheme and host case, default port and fragment do not make another feed."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    host = f"[{host}]" if ":" in host else host
    if parts.port and parts.port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", parts.query, ""))


def _checked_url(outline: lxml.etree._Element, url: str, name: str) -> str:
    where = (
        f"outline {name!r} (line {outline.sourceline})" if name else f"line {outline.sourceline}"
    )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise ConfigError(f"OPML: {where}: xmlUrl {url!r} is not a valid URL") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(f"OPML: {where}: xmlUrl {url!r} is not an http(s) URL")
    return url


def parse_opml(data: bytes) -> list[Feed]:
    """The feeds in an OPML document: nested outlines flattened, duplicates dropped.

    Outlines without ``xmlUrl`` are folders (or links) and only contribute their
    children; an ``xmlUrl`` that is not http(s) is an error naming the outline.
    The title is ``title``, else ``text``, else the URL itself.
    """
    root = _root(data)
    feeds: list[Feed] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        if "xmlurl" not in {str(k).lower() for k in outline.attrib}:
            continue
        name = _attr(outline, "title") or _attr(outline, "text")
        url = _checked_url(outline, _attr(outline, "xmlurl"), name)
        key = _same_feed_key(url)
        if key in seen:
            continue
        seen.add(key)
        language = _attr(outline, "language")
        feeds.append((url, name or url, None if language in ("", "unknown") else language))
    return feeds


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def to_opml(feeds: list[Feed], title: str) -> bytes:
    """An OPML 2.0 document of ``feeds`` that ``parse_opml`` reads back unchanged.

    No ``dateCreated``: the same list always gives the same bytes, so exports diff.
    """
    root = lxml.etree.Element("opml", version="2.0")
    head = lxml.etree.SubElement(root, "head")
    lxml.etree.SubElement(head, "title").text = _xml_text(title)
    body = lxml.etree.SubElement(root, "body")
    for url, name, language in feeds:
        attrs = {"type": "rss", "text": _xml_text(name), "title": _xml_text(name)}
        attrs["xmlUrl"] = _xml_text(url)
        if language:
            attrs["language"] = _xml_text(language)
        lxml.etree.SubElement(body, "outline", attrs)
    return lxml.etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


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
