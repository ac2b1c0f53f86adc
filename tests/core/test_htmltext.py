"""The one helper that cuts and splits every outgoing message's HTML.

Each part is checked with the fake Bot API's HTML parser (tests/fakes/telegram_html.py),
which refuses what Telegram refuses, and measured in UTF-16 code units.
"""

from __future__ import annotations

import html
import random

import pytest

from bot.core.htmltext import cut_html, cut_text, pack, plain, split_html, visible_length
from bot.core.message import MESSAGE_LIMIT, Button
from tests.fakes.telegram_html import html_to_text

ZWJ_EMOJI = "👩\u200d💻"  # woman technologist: three code points, five UTF-16 units


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_parts(parts: list[str], limit: int) -> list[str]:
    """Every part is valid Telegram HTML, shows something, and fits; return what they show."""
    shown = [html_to_text(p) for p in parts]
    for text in shown:
        assert text.strip(), "no part is empty"
        assert utf16(text) <= limit
    return shown


def words(text: str) -> list[str]:
    return plain(text).split()


def test_visible_length_counts_what_telegram_counts() -> None:
    assert visible_length('<b>a</b> <a href="https://x.test/?a=1&amp;b=2">b</a>') == 3
    assert visible_length("&lt;&gt;&amp;&quot;&#x27;&#39;") == 6
    assert visible_length("😀") == 2, "beyond U+FFFF: two UTF-16 code units"
    assert visible_length(ZWJ_EMOJI) == 5
    assert plain("<i>x &amp; y</i>") == "x & y"


def test_a_message_that_fits_is_left_alone() -> None:
    text = "<b>short</b> &amp; sweet"
    assert split_html(text) == [text]
    assert cut_html(text) == text
    exact = "x" * MESSAGE_LIMIT
    assert split_html(exact) == [exact] and cut_html(exact) == exact


def test_lines_are_kept_whole_when_they_can_be() -> None:
    lines = [f"<b>line {n}</b>: " + "word " * 15 + "end" for n in range(300)]
    text = "\n".join(lines)
    parts = split_html(text, 1000)
    shown = check_parts(parts, 1000)
    assert len(parts) > 1
    visible_lines = [plain(line) for line in lines]
    for part in shown:
        assert all(line in visible_lines for line in part.split("\n")), "cut between lines"
    assert "\n".join(shown) == plain(text), "nothing lost, nothing added"


def test_a_long_paragraph_is_cut_between_words() -> None:
    text = " ".join(f"w{n}" for n in range(3000))
    parts = split_html(text, 500)
    shown = check_parts(parts, 500)
    assert [w for p in shown for w in p.split()] == text.split()
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in shown)


def test_nested_tags_are_closed_at_a_cut_and_reopened_after_it() -> None:
    text = "<b>bold <i>" + "italic " * 40 + "</i>after</b> plain"
    parts = split_html(text, 100)
    check_parts(parts, 100)
    assert parts[0].startswith("<b>bold <i>") and parts[0].endswith("</i></b>")
    last = next(p for p in parts if "after" in p)
    assert all(p.startswith("<b><i>") for p in parts[1 : parts.index(last) + 1])
    assert last.endswith("</i>after</b>") and parts[-1] == "plain"
    assert [w for p in parts for w in words(p)] == words(text)


def test_a_link_spanning_the_cut_links_on_both_sides() -> None:
    href = '<a href="https://x.test/story?id=1&amp;lang=de">'
    text = "See " + href + "the " * 60 + "story</a> now."
    parts = split_html(text, 120)
    check_parts(parts, 120)
    assert len(parts) >= 2
    assert all(href in p for p in parts if "the" in plain(p) or "story" in plain(p))
    assert parts[0].endswith("</a>") and parts[1].startswith(href)


def test_an_entity_is_never_cut() -> None:
    for shift in range(12):  # every alignment of the entities against the limit
        text = "x" * shift + "&amp;&lt;&gt;&quot;&#x27;" * 80
        parts = split_html(text, 50)
        shown = check_parts(parts, 50)
        assert "".join(shown) == html.unescape(text)
        cut = cut_html(text, 50)
        assert plain(cut) == html.unescape(text)[:49] + "…"
        html_to_text(cut)


def test_astral_emoji_count_two_and_stay_whole() -> None:
    text = "😀" * 3000  # 6000 UTF-16 units in 3000 code points: over the limit
    parts = split_html(text)
    shown = check_parts(parts, MESSAGE_LIMIT)
    assert [len(p) for p in shown] == [2048, 952]
    assert "".join(shown) == text
    joined = ZWJ_EMOJI * 1000  # one "word" of ZWJ sequences
    shown = check_parts(split_html(joined, 101), 101)
    assert "".join(shown) == joined
    assert all(p.startswith("👩") and p.endswith("💻") for p in shown), "a sequence never split"


def test_a_word_longer_than_the_limit_is_cut_inside_it() -> None:
    text = "<b>" + "x" * 10_000 + "</b> tail"
    parts = split_html(text)
    shown = check_parts(parts, MESSAGE_LIMIT)
    assert [len(p) for p in shown[:2]] == [MESSAGE_LIMIT, MESSAGE_LIMIT]
    assert all(p.startswith("<b>") for p in parts)
    assert "".join(shown) == plain(text) and shown[-1].endswith("x tail")


def test_whitespace_at_a_cut_is_dropped_and_no_part_is_empty() -> None:
    text = "a" * 90 + "\n\n\n\n" + " " * 300 + "<b>  </b>" + "b" * 50
    parts = split_html(text, 100)
    shown = check_parts(parts, 100)
    assert [s.strip() for s in shown] == ["a" * 90, "b" * 50]
    assert parts[0] == "a" * 90, "the line breaks and spaces at the cut are dropped"
    assert split_html("word" + " " * 5000, 100) == ["word"]


def test_cut_keeps_one_valid_message_with_an_ellipsis() -> None:
    text = "<b>Title</b>\n" + "<i>" + "lorem ipsum " * 600 + "</i>"
    cut = cut_html(text)
    shown = html_to_text(cut)
    assert utf16(shown) <= MESSAGE_LIMIT and shown.endswith("…")
    assert plain(text).startswith(shown[:-1]) and shown[:-1].split()[-1] in ("lorem", "ipsum")
    assert cut.endswith("…</i>")
    assert cut_html("one two three", 10) == "one two…"
    assert cut_text("a <b> & c " * 10, 12) == "a <b> & c a…"


def test_random_markup_always_splits_into_valid_parts() -> None:
    rng = random.Random(12)
    pieces = ["word", "слово", "😀", ZWJ_EMOJI, "&amp;", "&lt;", " ", " ", "\n", "é", "x" * 30]
    tags = ["b", "i", "u", "s", "code", "tg-spoiler"]
    for _ in range(200):
        out, stack = [], []
        for _ in range(rng.randint(1, 400)):
            roll = rng.random()
            if roll < 0.08:
                tag = rng.choice(tags)
                stack.append(tag)
                out.append(f"<{tag}>")
            elif roll < 0.1:
                stack.append("a")
                out.append('<a href="https://x.test/?q=1&amp;p=2">')
            elif roll < 0.18 and stack:
                out.append(f"</{stack.pop()}>")
            else:
                out.append(rng.choice(pieces))
        out += [f"</{t}>" for t in reversed(stack)]
        text = "".join(out)
        if not plain(text).strip():
            continue
        limit = rng.randint(8, 300)
        shown = check_parts(split_html(text, limit), limit)
        assert "".join("".join(shown).split()) == "".join(plain(text).split())
        cut = cut_html(text, limit)
        assert utf16(html_to_text(cut)) <= limit


def test_buttons_refuse_what_telegram_would() -> None:
    assert Button("ok", data="x" * 64).data
    assert Button("read", url="https://x.test/").url
    with pytest.raises(ValueError, match="64 bytes"):
        Button("too long", data="é" * 33)
    with pytest.raises(ValueError, match="either"):
        Button("neither")
    with pytest.raises(ValueError, match="either"):
        Button("both", data="x", url="https://x.test/")


def test_pages_keep_blocks_whole_in_order_under_the_limit() -> None:
    blocks = [f"<b>Topic {n}</b>\n" + "word " * (n * 2) for n in range(1, 40)]
    pages = pack(blocks, 500, most=5)
    shown = check_parts(pages, 500)
    assert all(p.count("<b>Topic") <= 5 for p in pages)
    assert [int(x.split()[1]) for s in shown for x in s.split("\n\n")] == list(range(1, 40))
    huge = "<i>" + "long " * 400 + "</i>"
    split = pack(["<b>small</b>", huge, "<b>after</b>"], 300)
    assert split[0] == "<b>small</b>" and split[-1].endswith("<b>after</b>")
    assert len(split) > 3 and all(utf16(html_to_text(p)) <= 300 for p in split)
    assert pack([], 100) == []
