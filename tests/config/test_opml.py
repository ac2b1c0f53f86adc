"""OPML import/export: flattening, duplicates, clear errors, and hostile XML refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.config.opml import parse_opml, to_opml
from bot.core.errors import ConfigError

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Central Asia" title="Central Asia">
      <outline type="rss" text="Steppe Daily" title="Steppe Daily"
               xmlUrl="https://steppe.example/rss.xml" htmlUrl="https://steppe.example/"
               language="en"/>
      <outline text="Kazakh press">
        <!-- a comment is ignored -->
        <outline type="rss" text="Tageszeitung Ausland" xmlUrl="https://zeitung.example/ausland.rss"
                 language="de"/>
        <outline type="rss" text="Kazinform" xmlurl="http://kazinform.example/feed"/>
      </outline>
    </outline>
    <outline type="rss" text="Steppe Daily (again)" xmlUrl="HTTPS://Steppe.Example:443/rss.xml"/>
    <outline type="rss" title="Only a title" xmlUrl="https://t.example/atom" language="unknown"/>
    <outline type="rss" xmlUrl="https://nameless.example/feed"/>
    <outline type="link" text="A web page" url="https://steppe.example/about"/>
    <outline text="Empty folder"/>
  </body>
</opml>
"""


def test_a_reader_export_is_flattened_in_document_order() -> None:
    assert parse_opml(READER_EXPORT) == [
        ("https://steppe.example/rss.xml", "Steppe Daily", "en"),
        ("https://zeitung.example/ausland.rss", "Tageszeitung Ausland", "de"),
        ("http://kazinform.example/feed", "Kazinform", None),
        ("https://t.example/atom", "Only a title", None),
        ("https://nameless.example/feed", "https://nameless.example/feed", None),
    ]


def test_duplicates_keep_the_first_and_distinct_feeds_stay() -> None:
    data = b"""<opml version="1.0"><body>
      <outline text="A" xmlUrl="https://a.example/feed#x"/>
      <outline text="A again" xmlUrl="https://A.example/feed"/>
      <outline text="A other port" xmlUrl="https://a.example:8443/feed"/>
      <outline text="A other query" xmlUrl="https://a.example/feed?lang=de"/>
    </body></opml>"""
    assert [name for _, name, _ in parse_opml(data)] == ["A", "A other port", "A other query"]


@pytest.mark.parametrize(
    ("outline", "message"),
    [
        ('text="Local" xmlUrl="file:///etc/passwd"', r"outline 'Local' \(line 2\): xmlUrl "),
        ('title="FTP" xmlUrl="ftp://files.example/feed"', r"outline 'FTP' .* not an http\(s\) URL"),
        ('text="JS" xmlUrl="javascript:alert(1)"', r"outline 'JS' .* not an http\(s\) URL"),
        ('text="Empty" xmlUrl=""', r"outline 'Empty' .*xmlUrl '' is not an http\(s\) URL"),
        ('xmlUrl="feed.xml"', r"line 2: xmlUrl 'feed.xml' is not an http\(s\) URL"),
        ('text="Port" xmlUrl="http://a.example:99999/"', r"outline 'Port' .* not a valid URL"),
    ],
)
def test_non_http_urls_are_refused_naming_the_outline(outline: str, message: str) -> None:
    data = f'<opml version="2.0"><body>\n<outline {outline}/></body></opml>'.encode()
    with pytest.raises(ConfigError, match=f"^OPML: {message}"):
        parse_opml(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not well-formed XML"),
        (b"<opml><body><outline", "not well-formed XML"),
        (b"<rss version='2.0'><channel/></rss>", "the root element is <rss>, not <opml>"),
        (b"x" * 5_000_001, "more than the 5000000 allowed"),
    ],
)
def test_documents_that_are_not_opml_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_opml(data)


def test_an_opml_without_feeds_is_an_empty_list() -> None:
    assert parse_opml(b'<opml version="2.0"><head/><body/></opml>') == []
    assert parse_opml(b'<opml version="2.0"/>') == []


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<opml version="2.0"><body>
  <outline text="&lol9;" xmlUrl="https://laughs.example/feed"/>
</body></opml>
"""


def xxe(path: Path, encoding: str = "utf-8") -> bytes:
    doc = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<!DOCTYPE opml [<!ENTITY secret SYSTEM "file://{path}">]>\n'
        '<opml version="2.0"><head><title>&secret;</title></head><body>'
        '<outline text="&secret;" xmlUrl="https://e.example/feed"/></body></opml>'
    )
    return doc.encode(encoding)


def test_billion_laughs_is_refused_without_expanding() -> None:
    start = time.monotonic()
    with pytest.raises(ConfigError, match="DOCTYPE or entity declarations are refused"):
        parse_opml(BILLION_LAUGHS)
    assert time.monotonic() - start < 1


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_xxe_cannot_read_a_local_file(tmp_path: Path, encoding: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-4711")
    with pytest.raises(ConfigError, match="DOCTYPE") as err:
        parse_opml(xxe(secret, encoding))
    assert "TOPSECRET" not in str(err.value)


def test_lower_case_doctype_is_refused_too() -> None:
    with pytest.raises(ConfigError, match="DOCTYPE"):
        parse_opml(b'<!doctype opml><opml version="2.0"><body/></opml>')


def test_predefined_and_character_entities_still_work() -> None:
    data = (
        b'<opml version="2.0"><body><outline text="Q&amp;A &#8211; &lt;Asia&gt;"'
        b' xmlUrl="https://qa.example/feed?a=1&amp;b=2"/></body></opml>'
    )
    assert parse_opml(data) == [("https://qa.example/feed?a=1&b=2", "Q&A \u2013 <Asia>", None)]


def test_export_round_trips_and_is_reproducible() -> None:
    feeds = [
        ("https://steppe.example/rss.xml", "Steppe Daily", "en"),
        ("https://zeitung.example/ausland.rss?a=1&b=2", "Tageszeitung \u00abAusland\u00bb", "de"),
        ("http://kazinform.example/feed", 'Kazinform "<news>" & more', None),
        (
            "https://\u049b\u0430\u0437.example/feed",
            "\u049a\u0430\u0437\u0430\u049b\u0441\u0442\u0430\u043d",
            "kk",
        ),
    ]
    data = to_opml(feeds, "newsbot feeds")
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<opml version=\"2.0\">")
    assert b"<title>newsbot feeds</title>" in data and b"dateCreated" not in data
    assert parse_opml(data) == feeds
    assert to_opml(feeds, "newsbot feeds") == data
    assert parse_opml(to_opml(parse_opml(READER_EXPORT), "x")) == parse_opml(READER_EXPORT)


def test_export_drops_characters_xml_cannot_carry() -> None:
    data = to_opml([("https://a.example/feed", "Bell\x07 and\x00 null", None)], "t\x1b")
    assert parse_opml(data) == [("https://a.example/feed", "Bell and null", None)]


def test_the_parser_is_safe_even_without_the_declaration_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: with the byte scan disabled, lxml still neither reads nor expands."""
    monkeypatch.setattr("bot.config.opml._DECLARATIONS", ())
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-4711")
    for data in (xxe(secret), BILLION_LAUGHS):
        with pytest.raises(ConfigError) as err:
            parse_opml(data)
        assert "TOPSECRET" not in str(err.value) and "lollol" not in str(err.value)
