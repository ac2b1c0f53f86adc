"""RSS and Atom into Entries: clean text in every field, links only when they are links."""

from __future__ import annotations

import pytest

from bot.ingest.parse import parse_feed
from bot.ingest.text import html_to_text

URL = "https://news.example/feed.xml"


def rss_items(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        + "".join(f"<item>{i}</item>" for i in items)
        + "</channel></rss>"
    ).encode()


def atom_entries(*entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>A</title>" + "".join(f"<entry>{e}</entry>" for e in entries) + "</feed>"
    ).encode()


# ---------------------------------------------------------------- entities


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("That&#8217;s Not What Dolphins Do", "That’s Not What Dolphins Do"),
        ("Add Task &amp; Sub Tasks", "Add Task & Sub Tasks"),
        ("Alarma en 'El País': &quot;Tenemos&quot;", "Alarma en 'El País': \"Tenemos\""),
        ("Toka&amp;iuml;ev", "Tokaïev"),  # encoded twice
        ("Toka&amp;amp;iuml;ev", "Tokaïev"),  # three times
        ("&lt;p&gt;Entry Title&lt;/p&gt;", "Entry Title"),  # escaped markup, then markup
        ("<b>Kasachstan</b> &amp;nbsp;heute", "Kasachstan heute"),
        ("AT&T and R&D & more", "AT&T and R&D & more"),  # bare ampersands stay
        ("x < y and y > z", "x < y and y > z"),  # not markup
    ],
)
def test_entities_are_decoded_however_often_they_were_encoded(raw: str, clean: str) -> None:
    assert html_to_text(raw) == clean
    assert html_to_text(html_to_text(raw)) == clean  # idempotent


def test_every_text_field_of_an_item_is_decoded() -> None:
    body = rss_items(
        "<title>Toka&amp;amp;iuml;ev &amp;quot;names&amp;quot; a PM</title>"
        "<link>https://news.example/a</link>"
        "<description>Präsident Toka&amp;amp;iuml;ev &amp;#8211; heute</description>"
        "<content:encoded xmlns:content='http://purl.org/rss/1.0/modules/content/'>"
        "&lt;p&gt;Kasachstan&amp;amp;#8217;s&lt;/p&gt;</content:encoded>"
    )
    parsed = parse_feed(body, URL)
    (entry,) = parsed.entries
    assert entry.title == 'Tokaïev "names" a PM'
    assert entry.summary == "Präsident Tokaïev – heute"
    assert entry.content == "Kasachstan’s"


# ---------------------------------------------------------------- links


def test_an_atom_entry_without_a_link_has_no_link_rather_than_its_tag_id() -> None:
    body = atom_entries(
        "<id>tag:andrea.pappacoda.it,2024-12-12:tesi</id><title>Tesi</title>",
        "<id>https://news.example/2</id><title>Id is a URL</title>",
        '<id>tag:x,2024:3</id><title>Alt</title><link rel="alternate" href="/three"/>',
        "<id>tag:x,2024:4</id><title>Enclosure only</title>"
        '<link rel="enclosure" href="https://news.example/4.mp3"/>',
    )
    links = [e.link for e in parse_feed(body, URL).entries]
    assert links == ["", "https://news.example/2", "https://news.example/three", ""]


def test_an_rss_guid_that_is_no_permalink_is_not_a_link() -> None:
    body = rss_items('<guid isPermaLink="false">abc123</guid><title>No link</title>')
    (entry,) = parse_feed(body, URL).entries
    assert entry.link == "" and entry.key == "guid:abc123"


def test_utf16_without_bom_or_declaration_is_read() -> None:
    doc = rss_items("<title>Kazakhstan</title><link>https://news.example/k</link>")
    text = doc.decode().replace('<?xml version="1.0" encoding="utf-8"?>', "")
    for codec in ("utf-16-be", "utf-16-le"):
        (entry,) = parse_feed(text.encode(codec), URL).entries
        assert entry.title == "Kazakhstan", codec


# ---------------------------------------------------------------- encodings


RUSSIAN = [
    "Как пережить новогоднюю ночь в Казахстане",
    "Президент Токаев назначил нового премьер-министра страны",
    "В Алматы открылись банки после недели беспорядков",
    "Парламент утвердил бюджет на следующий год",
]
FRENCH = [
    "La criminalité liée surtout à l'ennui ?",
    "Où va-t-on, garçon : une simplification très complexe",
    "Perturbateurs endocriniens : quels effets sur le cerveau ?",
]


def undeclared(titles: list[str], codec: str) -> bytes:
    """An RSS document in ``codec`` with no XML declaration and no charset anywhere.

    Detection needs some text to judge by, as a real feed has (a handful of items:
    one short title alone can pass for Japanese in KOI8-R).
    """
    items = "".join(
        f"<item><title>{t}</title><description>{t}.</description></item>" for t in titles
    )
    return f"<rss version='2.0'><channel><title>T</title>{items}</channel></rss>".encode(codec)


@pytest.mark.parametrize("codec", ["koi8-r", "cp1251"])
def test_an_undeclared_cyrillic_encoding_is_detected(codec: str) -> None:
    entries = parse_feed(undeclared(RUSSIAN, codec), URL, "application/xml").entries
    assert [e.title for e in entries] == RUSSIAN


def test_an_undeclared_western_feed_keeps_feedparsers_reading() -> None:
    entries = parse_feed(undeclared(FRENCH, "cp1252"), URL, "application/xml").entries
    assert [e.title for e in entries] == FRENCH
