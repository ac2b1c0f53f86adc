"""Canonical article URLs, so the variants of one article's address compare equal.

Feeds hand out the same article under many URLs: with ``utm_*`` and click-id
tags, as AMP or mobile variants, with or without ``www.``, and sometimes under a
new GUID after an edit. ``canonical_url`` folds those variants into one identity
string (meant for comparing, not necessarily for fetching); bot.ingest.identity
builds item keys from it.
"""

from __future__ import annotations

import contextlib
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import lxml.etree
import lxml.html

# Query keys that only say where a click came from (compared case-insensitively).
_TRACKING = """
fbclid gclid gclsrc dclid gbraid wbraid msclkid yclid twclid ttclid li_fat_id igshid
mc_cid mc_eid mkt_tok _ga _gl _hsenc _hsmi ref ref_src ref_url referrer cmpid cmp
ocid icid smid xtor s_cid spm sr_share share taid ito wt.mc_id wt_mc rss feature
soc_src soc_trk oly_enc_id oly_anon_id vero_id rb_clickid __twitter_impression ncid
sc_cid campaign_id guccounter guce_referrer guce_referrer_sig
"""
TRACKING_KEYS = frozenset(_TRACKING.split())
TRACKING_PREFIXES = ("utm_", "at_", "ns_", "pk_", "mtm_", "hsa_", "__hs")
AMP_FLAGS = {"amp": {"", "1", "true", "yes"}, "outputtype": {"amp"}, "output": {"amp"}}
HOST_PREFIXES = ("www.", "amp.", "m.", "mobile.")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Second-level labels under a country code that are public suffixes (co.uk, com.au).
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "gov", "ac", "edu", "ne", "or", "go"})


def _dropped(raw_key: str, value: str) -> bool:
    key = unquote(raw_key.replace("+", " ")).strip().lower()
    if key in TRACKING_KEYS or key.startswith(TRACKING_PREFIXES):
        return True
    return key in AMP_FLAGS and unquote(value).lower() in AMP_FLAGS[key]


def clean_query(query: str) -> str:
    """Drop tracking and AMP parameters; keep the rest, raw, sorted stably by key."""
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if not _dropped(key, value):
            pairs.append((key, part))
    return "&".join(part for _, part in sorted(pairs, key=lambda kv: kv[0]))


def fold_host(host: str) -> str:
    """Lower-case, drop a trailing dot and one www./amp./m./mobile. prefix."""
    host = host.lower().rstrip(".")
    for prefix in HOST_PREFIXES:
        rest = host.removeprefix(prefix)
        if rest != host and "." in rest:
            return rest
    return host


def fold_path(path: str) -> str:
    """Remove AMP path markers (``/amp/``, ``/amp``, ``.amp.html``, ``.amp``)."""
    segments = [s for s in path.split("/") if s.lower() != "amp"]
    path = "/".join(segments)
    lowered = path.lower()
    if lowered.endswith(".amp.html"):
        path = path[: -len(".amp.html")] + ".html"
    elif lowered.endswith(".amp"):
        path = path[: -len(".amp")]
    if len(path) > 1:
        path = path.rstrip("/")
    return path if path.startswith("/") else "/" + path


def canonical_url(url: str) -> str:
    """The identity form of an http(s) URL; other strings come back stripped, unchanged."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return url
    host = fold_host(parts.hostname)
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if parts.username is not None:
        host = parts.netloc.rpartition("@")[0] + "@" + host
    return urlunsplit((scheme, host, fold_path(parts.path), clean_query(parts.query), ""))


def _domain_labels(host: str) -> int:
    """How many trailing labels form the registrable domain, roughly (2, or 3 for co.uk)."""
    labels = host.split(".")
    if len(labels) >= 2 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return 3
    return 2


def related_hosts(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are one site: equal, or one is a subdomain of the other.

    The parent must be more than a public suffix, so ``co.uk`` relates to nothing.
    """
    a, b = fold_host(a), fold_host(b)
    if a == b:
        return True
    child, parent = (a, b) if len(a) > len(b) else (b, a)
    if not child.endswith("." + parent):
        return False
    return parent.count(".") + 1 >= _domain_labels(parent)


def _candidates(doc: lxml.html.HtmlElement) -> list[str]:
    found = []
    for link in doc.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "canonical" in rel and link.get("href"):
            found.append(link.get("href"))
    for meta in doc.iter("meta"):
        if (meta.get("property") or "").strip().lower() == "og:url" and meta.get("content"):
            found.append(meta.get("content"))
    return found


def _parser_for(html: bytes) -> lxml.html.HTMLParser:
    """UTF-8 when the bytes are valid UTF-8: lxml would assume Latin-1 without a meta tag.

    A new parser per call, because lxml parsers must not be shared between threads.
    """
    try:
        html.decode("utf-8")
    except UnicodeDecodeError:
        return lxml.html.HTMLParser()
    return lxml.html.HTMLParser(encoding="utf-8")


def canonical_from_html(html: bytes, base_url: str) -> str | None:
    """The page's declared canonical URL (``rel=canonical``, else ``og:url``), in identity form.

    Relative URLs are resolved against ``base_url``. Only http(s) URLs on the same
    site (same host, or a parent or subdomain of it) are accepted: a page must not
    be able to claim another site's article and so suppress its alert.
    """
    if not html.strip():
        return None
    try:
        doc = lxml.html.fromstring(html, parser=_parser_for(html))
    except (lxml.etree.ParserError, ValueError):
        return None
    base_host = urlsplit(base_url).hostname or ""
    for href in _candidates(doc):
        with contextlib.suppress(ValueError):
            resolved = urljoin(base_url, href.strip())
            parts = urlsplit(resolved)
            if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
                continue
            if related_hosts(parts.hostname, base_host):
                return canonical_url(resolved)
    return None
