"""Article text on the real-world page sets: newsbot's reading of a page against plain trafilatura.

Two sets in ../shared/corpora/realworld/pages:

- ``scrapinghub``: 181 pages with human ground truth. Scored as that benchmark
  does: 4-word shingles, true/false positives and negatives normalised per page,
  precision and recall averaged over pages, F1 of the two averages.
- ``trafilatura``: 110 pages with snippets the text must and must not contain.
  Scored as trafilatura's own evaluation does: a snippet found is a true (or
  false) positive, one missing a false (or true) negative, summed over pages.

newsbot's text is ``bot.analysis.page.read_page``'s, the pipeline's own reading of
a page (with no feed text, which these pages do not come with); plain is
``trafilatura.extract(html, url=url)`` with its defaults. Extraction is CPU-heavy
(~290 pages), so it runs in two processes and plain results are cached in
``.cache/fidelity`` (keyed by page, URL and trafilatura version). Run
``python -m tests.extraction_eval`` to print the table.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.corpora import PAGES, ROOT

CACHE = Path(os.environ.get("NEWSBOT_FIDELITY_CACHE", ROOT / ".cache" / "fidelity"))
SETS = ("scrapinghub", "trafilatura")
_TOKEN = re.compile(r"\w+")
SHINGLE = 4


@dataclass(frozen=True)
class Page:
    """One page of a set, and what a good reading of it contains."""

    set: str
    id: str
    url: str
    path: Path
    truth: str = ""  # scrapinghub: the article body
    must: tuple[str, ...] = ()  # trafilatura: snippets that belong to the text
    must_not: tuple[str, ...] = ()  # and snippets that do not
    lang: str = ""

    def html(self) -> bytes:
        return gzip.decompress(self.path.read_bytes())


def load_pages(which: Iterable[str] = SETS) -> list[Page]:
    """The pages of the named sets (sorted, so runs are comparable)."""
    out: list[Page] = []
    if "scrapinghub" in which:
        base = PAGES / "scrapinghub"
        truth = json.loads(gzip.decompress((base / "ground-truth.json.gz").read_bytes()))
        for key, item in sorted(truth.items()):
            path = base / f"{key}.html.gz"
            out.append(Page("scrapinghub", key, item["url"], path, truth=item["articleBody"]))
    if "trafilatura" in which:
        base = PAGES / "trafilatura"
        data = json.loads((base / "evaldata.json").read_text(encoding="utf-8"))["pages"]
        for name, item in sorted(data.items()):
            path = base / (name if name.endswith(".gz") else f"{name}.gz")
            out.append(
                Page(
                    "trafilatura",
                    name,
                    item["url"],
                    path,
                    must=tuple(item.get("with") or ()),
                    must_not=tuple(item.get("without") or ()),
                    lang=item.get("lang_guess") or "",
                )
            )
    return out


# ---------------------------------------------------------------- the two readers


def plain_text(job: tuple[bytes, str]) -> str:
    """Plain ``trafilatura.extract`` with its default options."""
    import trafilatura

    html, url = job
    return trafilatura.extract(html, url=url) or ""


def newsbot_text(job: tuple[bytes, str]) -> str:
    """The text newsbot matches for this page: the pipeline's ``read_page``."""
    from bot.analysis.page import read_page
    from bot.core.models import Article

    html, url = job
    article, _ = read_page(Article(url, "", "", "", "eval", None, "feed"), html, url)
    return article.body


def _version() -> str:
    import trafilatura

    return trafilatura.__version__


def _cached(
    reader: Callable[[tuple[bytes, str]], str], pages: list[Page], name: str, workers: int
) -> list[str]:
    """``reader`` over ``pages`` in ``workers`` processes, remembered per page in CACHE."""
    CACHE.mkdir(parents=True, exist_ok=True)
    store = CACHE / f"{name}-{_version()}.json"
    known: dict[str, str] = json.loads(store.read_text()) if store.exists() else {}

    def key(page: Page) -> str:
        digest = hashlib.sha256(page.path.read_bytes() + page.url.encode()).hexdigest()
        return digest[:32]

    missing = [p for p in pages if key(p) not in known]
    if missing:
        with ProcessPoolExecutor(workers) as pool:
            texts = pool.map(reader, [(p.html(), p.url) for p in missing], chunksize=4)
            for page, text in zip(missing, texts, strict=True):
                known[key(page)] = text
        store.write_text(json.dumps(known))
    return [known[key(p)] for p in pages]


def read_all(pages: list[Page], *, workers: int = 2) -> dict[str, list[str]]:
    """Each page read by plain trafilatura (cached) and by newsbot (fresh every run)."""
    plain = _cached(plain_text, pages, "plain", workers)
    with ProcessPoolExecutor(workers) as pool:
        mine = list(pool.map(newsbot_text, [(p.html(), p.url) for p in pages], chunksize=4))
    return {"plain trafilatura": plain, "newsbot": mine}


# ---------------------------------------------------------------- scores


@dataclass(frozen=True)
class Score:
    """Precision, recall and F1 of one reader on one set."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    grams = [tuple(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))]
    return Counter(g for g in grams if g)


def shingle_match(truth: str, text: str) -> tuple[float, float, float]:
    """(tp, fp, fn) over 4-word shingles, normalised to sum to 1 (the benchmark's measure)."""
    want, got = _shingles(truth), _shingles(text)
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def benchmark_score(counts: list[tuple[float, float, float]]) -> Score:
    """The scrapinghub benchmark's averages of per-page precision and recall."""

    def precision(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else tp / (tp + fp)

    def recall(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else tp / (tp + fn)

    return Score(
        statistics.mean(precision(*c) for c in counts if c[0] + c[1] > 0),
        statistics.mean(recall(*c) for c in counts if c[0] + c[2] > 0),
    )


def snippet_counts(page: Page, text: str) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) of one page's must / must-not snippets in ``text``."""
    tp = sum(1 for s in page.must if s in text)
    fp = sum(1 for s in page.must_not if s in text)
    return tp, fp, len(page.must) - tp, len(page.must_not) - fp


def snippet_score(counts: list[tuple[int, int, int, int]]) -> Score:
    tp, fp, fn = (sum(c[i] for c in counts) for i in range(3))
    return Score(tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0)


def score(pages: list[Page], texts: list[str], which: str, lang: str = "") -> Score:
    """One reader's score on one set (optionally only the pages in language ``lang``)."""
    chosen = [(p, t) for p, t in zip(pages, texts, strict=True) if p.set == which]
    if lang:
        chosen = [(p, t) for p, t in chosen if p.lang == lang]
    if which == "scrapinghub":
        return benchmark_score([shingle_match(p.truth, t) for p, t in chosen])
    return snippet_score([snippet_counts(p, t) for p, t in chosen])


def table(pages: list[Page], readings: dict[str, list[str]]) -> list[str]:
    """The extraction table (Markdown): each reader on each set, and German on its own."""
    rows = [(s, s, "") for s in SETS if any(p.set == s for p in pages)]
    if any(p.set == "trafilatura" and p.lang == "de" for p in pages):
        rows.append(("trafilatura", "trafilatura, German pages", "de"))
    lines = [
        "| page set | pages | reader | F1 | precision | recall |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for which, label, lang in rows:
        n = sum(1 for p in pages if p.set == which and (not lang or p.lang == lang))
        for name, texts in readings.items():
            s = score(pages, texts, which, lang)
            lines.append(
                f"| {label} | {n} | {name} | {s.f1:.3f} | {s.precision:.3f} | {s.recall:.3f} |"
            )
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("<", "&lt;").replace(">", "&gt;")


def comments_of(page: Page) -> str:
    """The reader comments trafilatura finds on ``page`` (to say why a snippet is missing)."""
    import trafilatura

    found = trafilatura.bare_extraction(page.html(), url=page.url, include_comments=True)
    return (getattr(found, "comments", "") or "") if found else ""


def snippet_differences(pages: list[Page], readings: dict[str, list[str]]) -> list[str]:
    """Snippet by snippet, where newsbot and plain trafilatura disagree (trafilatura set)."""
    lines = []
    mine, plain = readings["newsbot"], readings["plain trafilatura"]
    for page, a, b in zip(pages, mine, plain, strict=True):
        if page.set != "trafilatura":
            continue
        for kind, snippets in (("wanted", page.must), ("unwanted", page.must_not)):
            for snippet in snippets:
                if (snippet in a) == (snippet in b):
                    continue
                who = "only plain trafilatura" if snippet in b else "only newsbot"
                where = "a reader comment" if snippet in comments_of(page) else ""
                shown = _cell(snippet[:60])
                lines.append(f"| {page.id} | {page.lang} | {kind} | {who} | {where} | {shown} |")
    return [
        "| page | lang | snippet is | found by | in | snippet |",
        "| --- | --- | --- | --- | --- | --- |",
        *lines,
    ]


def main() -> None:
    pages = load_pages()
    print("\n".join(table(pages, read_all(pages))))


if __name__ == "__main__":
    main()
