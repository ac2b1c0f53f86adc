"""The matcher: folding, word boundaries, wildcards, phrases, exceptions, composition."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.errors import ConfigError
from bot.core.models import Article
from bot.core.normalize import fold, words
from bot.rules.file import load_rules
from bot.rules.matcher import Matcher

RULES = """
lists:
  unrest: ["Unruhen", "Protest*", "беспорядк*"]
topics:
  - id: kazakhstan
    name: Kazakhstan
    description: The country.
    any: ["Kasachstan*", "Казахстан*", "Nur-Sultan", "Kazajistán"]
  - id: tokayev
    name: Tokayev
    description: The president.
    any: ["Tokaj*", "Tokaïev", "Токаев*"]
    exclude: ["Tokajer*", "Tokaji"]
  - id: csto
    name: CSTO
    description: The alliance.
    any: ["CSTO", "OVKS", "ОДКБ"]
  - id: unrest
    name: Unrest
    description: Unrest in Kazakhstan.
    all: [["topic:kazakhstan"], ["@unrest"]]
    min_hits: 3
  - id: busy
    name: Busy
    description: Needs several mentions.
    any: ["Almaty"]
    fields: [body]
    min_hits: 2
"""


@pytest.fixture
def matcher(tmp_path: Path) -> Matcher:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return Matcher(load_rules(path))


def ids(matcher: Matcher, title: str = "", body: str = "", summary: str = "") -> list[str]:
    article = Article("https://x.test/a", title, summary, body, "src", None)
    return [m.topic_id for m in matcher.match(article)]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Tokaïev", "tokaiev"),
        ("Kazajistán", "kazajistan"),
        ("ТОКАЕВ", "токаев"),
        ("Ёлка", "елка"),
        ("İstanbul", "istanbul"),
        ("ıspanak", "ispanak"),
        ("Straße", "strasse"),
        ("ΣΟΦΟΣ", "σοφοσ"),
        ("Қазақстан", "қазақстан"),
        ("ｋａｚａｋｈ", "kazakh"),
    ],
)
def test_fold_treats_case_and_diacritics_alike(a: str, b: str) -> None:
    assert fold(a) == fold(b) == b


def test_words_split_on_hyphens_and_apostrophes() -> None:
    assert words("OVKS-Truppen, Kazakhstan's Kazakistan'da") == [
        "ovks",
        "truppen",
        "kazakhstan",
        "s",
        "kazakistan",
        "da",
    ]


def test_inflected_forms_hit_through_wildcards(matcher: Matcher) -> None:
    assert ids(matcher, body="Die Lage Kasachstans") == ["kazakhstan"]
    assert ids(matcher, body="Протесты в Казахстане") == ["kazakhstan"]
    assert ids(matcher, body="Präsident Tokajews Rede") == ["tokayev"]
    assert ids(matcher, body="Встреча с Токаевым") == ["tokayev"]


def test_word_boundaries_hold_in_every_script(matcher: Matcher) -> None:
    assert ids(matcher, body="Die Kasachstanreise") == ["kazakhstan"]  # prefix: compound
    assert ids(matcher, body="XCSTO and CSTOs and OVKSler") == []
    assert ids(matcher, body="НеОДКБ") == []


def test_hyphenated_compounds_and_phrases(matcher: Matcher) -> None:
    assert ids(matcher, body="Abzug der OVKS-Truppen") == ["csto"]
    assert ids(matcher, body="the CSTO-led mission") == ["csto"]
    assert ids(matcher, body="Ankunft in Nur Sultan") == ["kazakhstan"]
    assert ids(matcher, body="Ankunft in Nur") == []


def test_diacritic_folding_applies_to_rules_and_text(matcher: Matcher) -> None:
    assert ids(matcher, body="Le président TOKAIEV") == ["tokayev"]
    assert ids(matcher, body="Crisis en Kazajistan") == ["kazakhstan"]


def test_exceptions_veto_only_the_words_they_cover(matcher: Matcher) -> None:
    assert ids(matcher, body="Ein Glas Tokajer Wein, ein Tokaji Aszú") == []
    assert ids(matcher, body="Tokajer Wein für Präsident Tokajew") == ["tokayev"]


def test_composite_topic_needs_every_group_and_min_hits(matcher: Matcher) -> None:
    assert "unrest" not in ids(matcher, body="Proteste in Kirgisistan")
    assert "unrest" not in ids(matcher, body="Proteste in Kasachstan")  # 2 hits < 3
    assert "unrest" in ids(matcher, title="Unruhen in Kasachstan", body="Proteste")


def test_min_hits_and_field_scope(matcher: Matcher) -> None:
    assert "busy" not in ids(matcher, body="Almaty once")
    assert "busy" not in ids(matcher, title="Almaty Almaty", summary="Almaty")
    assert "busy" in ids(matcher, body="Almaty, then Almaty again")


def test_hits_record_term_field_offsets_and_text(matcher: Matcher) -> None:
    body = "Tokajew sprach. Später sprach Tokajew erneut."
    article = Article("u", "Kasachstan", "", body, "s", None)
    found = {m.topic_id: m for m in matcher.match(article)}
    hits = found["tokayev"].hits
    assert [(h.field, h.start, h.end, h.text, h.term) for h in hits] == [
        ("body", 0, 7, "Tokajew", "Tokaj*"),
        ("body", 30, 37, "Tokajew", "Tokaj*"),
    ]
    assert found["kazakhstan"].hits[0].field == "title"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("topics: [", "invalid YAML"),
        (
            "topics:\n  - id: x\n    name: X\n    description: d\n    any: [a]\n    colour: red\n",
            "topics[0].colour",
        ),
        (
            "topics:\n  - id: x\n    name: X\n    description: d\n    any: ['@nope']\n",
            "unknown list '@nope'",
        ),
        (
            "topics:\n  - id: x\n    name: X\n    description: d\n    any: ['topic:nope']\n",
            "unknown topic 'nope'",
        ),
        (
            "topics:\n  - id: x\n    name: X\n    description: d\n    any: ['a*b']\n",
            "only allowed at the end",
        ),
        (
            "topics:\n  - id: x\n    name: X\n    description: d\n    any: ['ab*']\n",
            "at least 3 letters",
        ),
        (
            "topics:\n  - {id: a, name: A, description: d, any: ['topic:b']}\n"
            "  - {id: b, name: B, description: d, any: ['topic:a']}\n",
            "cycle",
        ),
    ],
)
def test_bad_rules_are_refused_naming_file_and_line(tmp_path: Path, bad: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules(path)
    assert message in str(err.value)
    assert f"{path}:" in str(err.value)
