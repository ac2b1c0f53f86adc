"""Main-text extraction with trafilatura (run in the worker processes).

Chosen on the real-world page sets (tests/extraction_eval.py, docs/fidelity.md):

- No cross-document state: ``deduplicate`` keeps a process-wide cache, so a
  worker that saw a page before strips it ("no main text" for syndicated copies).
- Tables in, comments out: tables hold article text (results, figures); reader
  comments are not the article, and mention topics it does not.
- Each page is read twice, by trafilatura alone and with its fallback extractors
  (readability, jusText), and the shorter reading wins. When the two disagree the
  longer has nearly always taken in navigation, teasers or comments; a reading
  under ``MIN_CHARS`` never wins over a longer one, so an article is not traded
  for a caption.
"""

from __future__ import annotations

MIN_CHARS = 200
_OPTIONS = {
    "include_comments": False,
    "include_tables": True,
    "include_links": False,
    "include_images": False,
    "deduplicate": False,
}


def extract_text(html: bytes | str, url: str) -> str | None:
    """The page's main text (in a worker process); None when trafilatura finds none."""
    import trafilatura

    alone = trafilatura.extract(html, url=url, fast=True, **_OPTIONS) or ""
    helped = trafilatura.extract(html, url=url, **_OPTIONS) or ""
    short, long = sorted((alone, helped), key=len)
    return (short if len(short) >= MIN_CHARS else long) or None
