"""Item identity: one key per feed item, decided per feed document, never merging two items.

Each item is offered keys from most to least specific, and takes the first that no
other item in the same document could also be known by::

    GUID     guid:<id>  (a URL id canonicalised; url:<link> when it is the link)
    link     url:<canonical link>, then with its #fragment
    content  item:<digest of GUID, link, title and text>

So a GUID is used when it is unique within the feed, the link when it is, and a
content key otherwise; two items that differ in title or text never share a key,
and items identical in all four are one item listed twice. An edited title or a
tracking tag leaves a GUID or link key unchanged; a new GUID for the same story,
an edit of an item only its content identifies, and copies in other feeds are new
items here, and the story layer (bot.pipeline.stories) keeps them from alerting twice.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from bot.core.models import Entry
from bot.ingest.canonical import canonical_url


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What identifies one item of a feed document: its GUID, link, title and text."""

    guid: str
    link: str
    title: str
    text: str


def is_http(value: str) -> bool:
    """An absolute http(s) URL (a link newsbot can fetch and an alert can show)."""
    return value.lower().startswith(("http://", "https://"))


def _link_forms(link: str) -> list[str]:
    """The link's identity form, then the same with its fragment (``#post-12``), if any."""
    if not is_http(link):
        return []
    url = canonical_url(link)
    forms = [url]
    fragment = urlsplit(link.strip()).fragment
    if fragment:
        forms.append(f"{url}#{fragment}")
    return forms


def _guid_forms(guid: str, link: str) -> list[str]:
    if not guid:
        return []
    canonical = canonical_url(guid) if is_http(guid) else guid
    links = _link_forms(link)
    first = "url:" + canonical if links and canonical == links[0] else "guid:" + canonical
    forms = [first]
    if "guid:" + guid != first:
        forms.append("guid:" + guid)  # the id exactly as given: fragments tell posts apart
    return forms


def content_key(item: ItemFacts) -> str:
    """The key of last resort, from everything the item says."""
    link = _link_forms(item.link)
    parts = (item.guid, link[-1] if link else item.link, item.title, item.text)
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).hexdigest()
    return "item:" + digest


def candidates(item: ItemFacts) -> list[str]:
    """Every key ``item`` may be known by, most specific first (content key last)."""
    links = ["url:" + form for form in _link_forms(item.link)]
    found = _guid_forms(item.guid, item.link) + links
    return [*dict.fromkeys(found), content_key(item)]


def document_keys(items: Sequence[ItemFacts]) -> list[str]:
    """The key of each item of one feed document (equal keys: the same item twice)."""
    offered = {item: candidates(item) for item in dict.fromkeys(items)}
    claims = Counter(key for keys in offered.values() for key in keys)
    # No unique key at all: the items differ only in tracking tags, one item after all.
    return [next((k for k in offered[item] if claims[k] == 1), offered[item][-1]) for item in items]


def keyed(entries: Sequence[Entry], keys: Sequence[str]) -> tuple[Entry, ...]:
    """``entries`` under their document keys, each item once (a repeat is dropped).

    An alias equal to the new key is dropped: it is looked up as the key anyway.
    """
    out: dict[str, Entry] = {}
    for entry, key in zip(entries, keys, strict=True):
        if key not in out:
            aliases = tuple(a for a in dict.fromkeys(entry.aliases) if a != key)
            out[key] = replace(entry, key=key, keys=(key,), aliases=aliases)
    return tuple(out.values())
