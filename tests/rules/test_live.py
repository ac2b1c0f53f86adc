"""Safe rule editing: bad edits are refused with a reason, good ones go live next cycle."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.app.cli import main
from bot.core.errors import ConfigError
from bot.core.models import Article
from bot.rules.edit import add_term, edit_rules
from bot.rules.file import load_rules
from bot.rules.live import LiveRules
from bot.rules.matcher import Matcher
from tests.helpers.harness import ROOT, Harness, rss

GOOD = """
topics:
  - id: kazakhstan
    name: Kazakhstan
    description: The country.
    any: ["Kasachstan*", "re:Qazaqstan(da|nyn)?"]
  - id: tokayev
    name: Tokayev
    description: The president.
    any: ["Tokaj*"]
    exclude: ["Tokajer*"]
"""
BAD_EDITS = {
    "invalid_yaml": ("topics:\n  - id: kazakhstan\n    any: [unclosed\n", "invalid YAML"),
    "unknown_key": (
        GOOD.replace('    any: ["Tokaj*"]', '    any: ["Tokaj*"]\n    weight: 3'),
        "topics[1].weight (topic 'tokayev'): Extra inputs are not permitted",
    ),
    "catastrophic_regex": (
        GOOD.replace("re:Qazaqstan(da|nyn)?", "re:(a+)+$"),
        "catastrophic backtracking",
    ),
    "unknown_topic": (
        GOOD.replace('["Tokaj*"]', '["topic:kazakstan"]'),
        "unknown topic 'kazakstan'",
    ),
}


def article(body: str) -> Article:
    return Article("https://x.test/", "", "", body, "s", None)


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()  # make sure the change is visible even within one mtime tick
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


@pytest.mark.parametrize("name", sorted(BAD_EDITS))
def test_bad_edit_is_refused_and_the_old_rules_stay(tmp_path: Path, name: str) -> None:
    path = tmp_path / "rules.yaml"
    write(path, GOOD)
    told: list[str] = []
    live = LiveRules(path, on_rejected=told.append)
    text, reason = BAD_EDITS[name]
    write(path, text)
    matcher = live.current()
    assert [m.topic_id for m in matcher.match(article("Tokajew in Qazaqstanda"))] == [
        "kazakhstan",
        "tokayev",
    ]
    assert len(told) == 1 and reason in told[0] and str(path) in told[0]
    live.current()
    assert len(told) == 1, "the same bad version is reported once"
    with pytest.raises(ConfigError, match=re.escape(reason)):
        load_rules(path)


def test_good_edit_replaces_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    write(path, GOOD)
    live = LiveRules(path)
    write(path, GOOD.replace('"Tokaj*"', '"Tokajew*", "Tokayev"'))
    assert [m.topic_id for m in live.current().match(article("President Tokayev"))] == ["tokayev"]


def test_regex_terms_and_explanations(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    write(path, GOOD)
    matcher = Matcher(load_rules(path))
    found = matcher.match(article("News from QAZAQSTANNYN capital"))
    assert [(m.topic_id, m.hits[0].text, m.hits[0].start) for m in found] == [
        ("kazakhstan", "QAZAQSTANNYN", 10)
    ]
    verdicts = {v.topic_id: v for v in matcher.explain(article("Ein Tokajer Wein"))}
    assert not verdicts["tokayev"].matched
    assert "no 'any' term hit" in verdicts["tokayev"].reason


def test_test_rules_command_explains_a_file(tmp_path: Path, capsys) -> None:
    page = tmp_path / "a.txt"
    page.write_text("Proteste in Kirgisistan; Präsident Tokajew äußert sich.", encoding="utf-8")
    assert main(["--config", str(ROOT / "config"), "test-rules", str(page)]) == 0
    out = capsys.readouterr().out
    assert "MATCHED tokayev (Tokayev)" in out
    assert "body[35:42] 'Tokajew'" in out
    assert "NEARLY  kazakhstan_unrest" in out


@pytest.mark.slow  # a running service, reloads over several cycles
async def test_running_bot_keeps_good_rules_tells_admins_and_takes_a_fix(
    harness: Harness,
) -> None:
    site, api = harness.site, harness.telegram
    site.route("/f.xml", rss([]))
    harness.write(["/f.xml"], telegram={"admins": [777]})
    rules = harness.config / "rules.yaml"
    async with harness.running() as service:
        await service.pipeline.wait_polls(1)
        write(rules, BAD_EDITS["catastrophic_regex"][0])
        await harness.wait_sent(lambda a: any(m["chat_id"] == 777 for m in a.sent))
        assert "catastrophic backtracking" in api.sent[-1]["text"]
        assert "kazakhstan_unrest" in service.rules.matcher.rules.ids  # still the shipped rules
        write(rules, GOOD)
        # One check may come before the write; the next sees a fresh file and lets
        # it settle (bot/rules/live.py); a later one reads it. Checks come every
        # RULES_SECONDS while polling: the fix is in force within a few polls.
        for _ in range(20):
            if service.rules.matcher.rules.ids == ("kazakhstan", "tokayev"):
                break
            await service.pipeline.wait_polls(service.pipeline.polls + 1)
        assert service.rules.matcher.rules.ids == ("kazakhstan", "tokayev")


def torn(path: Path, text: str, at: int) -> None:
    """Write ``text[:at]`` the way an editor saving in place is caught half-way."""
    write(path, text[:at])


async def test_a_file_caught_half_written_never_replaces_the_rules(tmp_path: Path) -> None:
    """Found in issue 17: a torn hand-write was accepted as a smaller rule set."""
    path = tmp_path / "rules.yaml"
    write(path, GOOD)
    live = LiveRules(path)
    three = GOOD + "  - id: csto\n    name: CSTO\n    description: The alliance.\n    any: [OVKS]\n"
    half = three.index("  - id: tokayev")  # the first topic only: valid on its own
    torn(path, three, half)
    assert (await live.refresh()).rules.ids == ("kazakhstan", "tokayev"), "not yet settled"
    write(path, three)  # the editor finishes
    assert (await live.refresh()).rules.ids == ("kazakhstan", "tokayev"), "a fresh version waits"
    assert (await live.refresh()).rules.ids == ("kazakhstan", "tokayev", "csto")


async def test_a_file_written_a_while_ago_goes_live_at_the_next_check(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    write(path, GOOD)
    live = LiveRules(path)
    path.write_text(GOOD.replace('"Tokaj*"', '"Tokayev"'), encoding="utf-8")
    old = path.stat().st_mtime - 5
    os.utime(path, (old, old))
    assert "Tokayev" in str((await live.refresh()).rules.get("tokayev"))


async def test_a_chat_edit_goes_live_at_once(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    write(path, GOOD)
    live = LiveRules(path)
    edit_rules(path, lambda doc: add_term(doc, "tokayev", "Tokayev"))
    topic = (await live.refresh(now=True)).rules.get("tokayev")
    assert topic is not None and "Tokayev" in [t.label for t in topic.any]


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    """Found in issue 17: 597 bytes of YAML aliases took over 60 s and 1.2 GB to refuse."""
    lines, previous = (
        ['  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'],
        "a",
    )
    for name in "bcdefghij":
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    text = "lists:\n" + "\n".join(lines) + "\n" + GOOD
    assert len(text.encode()) < 1200  # a billion values, in about a kilobyte
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="more than 100000 values"):
        load_rules(path)


def test_aliases_of_a_sensible_size_still_work(tmp_path: Path) -> None:
    same = "  - id: president\n    name: President\n    description: Same.\n    any: *president\n"
    text = GOOD.replace('any: ["Tokaj*"]', 'any: &president ["Tokaj*"]') + same
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_rules(path).ids[-1] == "president"
