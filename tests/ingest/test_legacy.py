"""Older versions' item keys are reproduced exactly, so an upgrade re-alerts nothing.

These are the tests the any-shared-key rule shipped with, kept as they were: the
rule is no longer how items are keyed, but its keys must still come out the same.
"""

from __future__ import annotations

from bot.ingest.legacy import any_key_identity, json_feed_v01_key

STORY = "https://example.com/world/2022/01/13/csto-troops-leave-kazakhstan"


TEXT = (
    "Die ersten Soldaten der von Russland angeführten Militärallianz OVKS haben Kasachstan "
    "verlassen, teilte das Verteidigungsministerium in Moskau am Donnerstag mit."
)


def test_identity_is_guid_then_url_then_text() -> None:
    keys = any_key_identity("urn:uuid:42", STORY + "?utm_source=rss", "OVKS zieht ab", TEXT)
    assert [k.split(":")[0] for k in keys] == ["guid", "url", "text"]
    assert keys[0] == "guid:urn:uuid:42"
    assert keys[1] == "url:" + STORY


def test_an_edited_title_or_a_new_guid_keeps_a_shared_key() -> None:
    first = any_key_identity("urn:uuid:42", STORY, "OVKS zieht ab", TEXT)
    retitled = any_key_identity("urn:uuid:42", STORY, "OVKS beginnt Abzug aus Kasachstan", TEXT)
    new_guid = any_key_identity("urn:uuid:43", STORY + "?amp=1", "OVKS zieht ab", TEXT)
    moved = any_key_identity("urn:uuid:44", "https://example.com/other-path", "Neu", TEXT)
    assert first[2] == retitled[2]  # the text key ignores the title
    assert set(first) & set(new_guid) == {"url:" + STORY, first[2]}
    assert set(first) & set(moved) == {first[2]}  # only the text still matches
    other = any_key_identity("urn:uuid:45", "https://example.com/b", "x", TEXT + " Ergänzung.")
    assert not set(first) & set(other)


def test_text_key_is_normalised() -> None:
    a = any_key_identity(None, "", "", TEXT)
    b = any_key_identity(None, "", "", "  " + TEXT.upper().replace(" ", "\n  ") + " ")
    assert a == b and len(a) == 1 and a[0].startswith("text:")


def test_empty_and_link_guids_are_skipped_url_guids_canonicalised() -> None:
    tracked = STORY + "?utm_source=rss"
    for guid in (tracked, STORY, "  ", None):
        keys = any_key_identity(guid, tracked, "t", TEXT)
        assert not any(k.startswith("guid:") for k in keys), guid
        assert keys[0] == "url:" + STORY
    permalink = any_key_identity("http://www.example.com/?p=123&utm_medium=rss", STORY, "t", TEXT)
    assert permalink[:2] == ("guid:http://example.com/?p=123", "url:" + STORY)


def test_short_text_is_hashed_with_the_title() -> None:
    """'Read more' is not distinctive: two stories with it must not share a key."""
    a = any_key_identity(None, "", "Kazakhstan: CSTO troops leave", "Read more")
    b = any_key_identity(None, "", "Kyrgyzstan: border reopens", "Read more")
    assert a and b and a != b
    assert any_key_identity(None, "not a url", "", "") == ()


def test_json_feed_v01_keys() -> None:
    assert json_feed_v01_key("a-1", "https://x.example/a", "t", "x") == "a-1"
    assert json_feed_v01_key(None, "https://x.example/a", "t", "x") == "https://x.example/a"
    assert (json_feed_v01_key(None, "", "t", "x") or "").startswith("sha256:")
    assert json_feed_v01_key(None, "", "", "") is None


def test_the_keys_are_the_ones_the_old_code_wrote() -> None:
    """Digests computed by bot/ingest/identity.py as it was before per-document identity."""
    assert any_key_identity(
        "urn:uuid:42", "https://example.com/a?utm_source=rss", "OVKS zieht ab", TEXT
    ) == (
        "guid:urn:uuid:42",
        "url:https://example.com/a",
        "text:b86bea43b7cd2791380eba50c677804c",
    )
    assert any_key_identity(None, "", "Kazakhstan: CSTO troops leave", "Read more") == (
        "text:14e02b5203e01dcc39586690ceb598b2",
    )
