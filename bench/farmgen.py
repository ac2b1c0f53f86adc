"""Deterministic synthetic news sites for the pipeline benchmarks (no network, no files).

Each feed is one outlet on its own loopback host. Its article pages look like real
news pages (~80 kB: consent banner, header and navigation, breadcrumbs, the
<article> with 600-1200 words, figures, a related box, a sidebar of teasers, a
comment thread, a footer, analytics and hydration scripts), in German, English or
Russian filler text drawn from a seeded RNG.

A share of the articles (``on_topic``, default 5 %) is about the shipped topics:
paragraphs drawn from the wire report of tests/corpus/wire and from the
positive articles of tests/corpus/articles.yaml, each made unique by a filler
sentence (so trafilatura's cross-page de-duplication never drops them), between
filler paragraphs. A share of off-topic pages (``teaser_share``) carries an on-topic
headline in the sidebar only, as real regional outlets do: those pages mention
a topic term in the raw HTML but must not match after extraction.
"""

from __future__ import annotations

import gzip
import html
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WIRE = ROOT / "tests" / "corpus" / "wire" / "csto-withdrawal-2022-01-13.txt"
CORPUS = ROOT / "tests" / "corpus" / "articles.yaml"

_DE = """
der die das und in zu den von mit sich des auf für ist im dem nicht ein eine als auch
es an werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über
einen so zum war haben nur oder aber vor zur bis mehr durch man sein wurde sei schon
wenn jetzt immer neue neuen Jahr Jahren Prozent Millionen Milliarden Regierung Stadt
Land Menschen Woche Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag heute
gestern morgen Bericht Zeitung Unternehmen Markt Preise Bahn Schule Schulen Kinder Eltern
Wetter Regen Sonne Schnee Sommer Winter Frühling Herbst Fußball Spiel Trainer Mannschaft
Tor Saison Liga Verein Museum Ausstellung Theater Konzert Musik Buch Autor Film Kino
Festival Bürgermeister Gemeinderat Stadtrat Verkehr Straße Brücke Baustelle Wohnungen
Mieten Energie Strom Gas Heizung Klima Umwelt Wald Fluss Park Garten Landwirtschaft
Bauern Ernte Wein Bier Brot Küche Restaurant Hotel Tourismus Urlaub Reise Flughafen
Zug Bus Fahrrad Polizei Feuerwehr Gericht Richter Anwalt Urteil Gesetz Steuer Steuern
Haushalt Schulden Zinsen Bank Banken Börse Aktien Inflation Löhne Arbeit Arbeitsplätze
Gewerkschaft Streik Forschung Universität Studenten Wissenschaft Studie Ergebnisse
Gesundheit Krankenhaus Ärzte Pflege Patienten Impfung Digitalisierung Internet Daten
Software Handy Computer Technik Auto Autos Elektroauto Industrie Fabrik Produktion
Export Import Handel Geschäft Kunden Verkauf Einkauf Weihnachten Ostern Feiertag
sagte erklärte betonte kündigte berichtete meldete teilte mit sagt soll sollen könnte
könnten müssen muss wollen will geplant erwartet deutlich weiter weiterhin bereits
zudem allerdings jedoch dennoch etwa rund knapp fast mehrere viele wenige große kleine
hohe niedrige wichtige neue alte erste zweite letzten nächsten gestiegen gesunken
""".split()  # noqa: SIM905 - word lists read better as text

_EN = """
the of and to a in for is on that with was as it by at from has have be are not this
but were said will an they which or been their its who more after also new would one
year years percent million billion city council mayor residents week Monday Tuesday
Wednesday Thursday Friday Saturday Sunday today yesterday tomorrow report newspaper
company market prices rail school schools children parents weather rain sun snow summer
winter spring autumn football match coach team goal season league club museum exhibition
theatre concert music book author film cinema festival traffic road bridge construction
housing rents energy electricity gas heating climate environment forest river park garden
farming farmers harvest wine beer bread kitchen restaurant hotel tourism holiday travel
airport train bus bicycle police firefighters court judge lawyer ruling law tax taxes
budget debt interest bank banks stock shares inflation wages work jobs union strike
research university students science study results health hospital doctors nursing
patients vaccine internet data software phone computer technology car cars electric
industry factory production exports imports trade business customers sales shopping
holiday weekend local national regional officials spokesperson statement plans plan
announced reported expected increased decreased higher lower several many few large
small important first second last next however although despite around nearly about
according local community volunteers library garden festival parade market stalls
weekend visitors tickets season opening closing renovation project funding grant
""".split()  # noqa: SIM905 - word lists read better as text

_RU = """
и в не на что с по как это к из у за от о так же для но все он она они было были будет
может году года лет процентов миллионов миллиардов город мэр жители неделе понедельник
вторник среда четверг пятница суббота воскресенье сегодня вчера завтра газета компания
рынок цены школа школы дети родители погода дождь солнце снег лето зима весна осень
футбол матч тренер команда гол сезон лига клуб музей выставка театр концерт музыка книга
автор фильм кино фестиваль движение дорога мост строительство жилье аренда энергия
электричество газ отопление климат природа лес река парк сад сельское хозяйство урожай
хлеб кухня ресторан гостиница туризм отпуск поездка аэропорт поезд автобус велосипед
суд судья адвокат закон налог налоги бюджет долг банк банки биржа акции инфляция
зарплата работа рабочие места профсоюз исследование университет студенты наука
результаты здоровье больница врачи пациенты интернет данные программа телефон компьютер
техника автомобиль промышленность завод производство экспорт импорт торговля бизнес
клиенты продажи покупки праздник выходные местные власти представитель заявил заявила
сообщил сообщила отметил планирует планируют ожидается выросли снизились несколько
многие большие маленькие важные первый второй последний следующий однако несмотря около
почти примерно по словам также уже еще очень более менее новый новые старые
""".split()  # noqa: SIM905 - word lists read better as text

LANGS = {"de": _DE, "en": _EN, "ru": _RU}
LANG_WEIGHTS = (("de", 0.4), ("en", 0.4), ("ru", 0.2))
SECTIONS = {
    "de": "Inland Ausland Wirtschaft Sport Kultur Wissen Reise Auto Digital Gesundheit Meinung",
    "en": "World Politics Business Sport Culture Science Travel Motoring Tech Health Opinion",
    "ru": "Политика Мир Экономика Спорт Культура Наука Путешествия Авто Технологии Здоровье",
}
MOST_READ = {"de": "Meistgelesen", "en": "Most read", "ru": "Самое читаемое"}
COMMENTS = {"de": "Kommentare", "en": "Comments", "ru": "Комментарии"}


def filtered_vocab(matcher) -> dict[str, list[str]]:
    """The filler vocabularies, minus any word that touches a topic term."""
    from bot.core.models import Article

    out = {}
    for lang, words in LANGS.items():
        keep = []
        for w in dict.fromkeys(words):
            probe = Article("http://x/", "", "", w, "s", None)
            if not matcher.explain(probe):
                keep.append(w)
        out[lang] = keep
    return out


@dataclass
class Positives:
    """On-topic material: paragraphs and headlines, by language (plus 'any')."""

    paragraphs: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    teasers: list[str] = field(default_factory=list)  # titles that name a topic term


def load_positives(matcher) -> Positives:
    from bot.core.models import Article

    pos = Positives()
    # The headline, then paragraphs, each separated by a blank line.
    headline, *paragraphs = WIRE.read_text(encoding="utf-8").strip().split("\n\n")
    pos.titles.append(headline.strip())
    pos.paragraphs += [p.strip() for p in paragraphs if len(p.split()) >= 12]
    for art in yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["articles"]:
        if not art.get("expect") or "kazakhstan" not in art["expect"]:
            continue
        pos.titles.append(art.get("title", ""))
        for para in str(art.get("body", "")).split("\n"):
            if len(para.split()) >= 12:
                pos.paragraphs.append(para.strip())
    pos.teasers = [
        t for t in pos.titles if matcher.explain(Article("http://x/", "", "", t, "s", None))
    ]
    return pos


@dataclass
class Item:
    """One article: its path, feed entry and page."""

    path: str
    title: str
    description: str
    lang: str
    on_topic: bool
    teaser_topic: bool
    words: int
    page: bytes  # as served (gzip-encoded when the farm gzips)
    raw_size: int


class Generator:
    """Builds pages, feeds and headlines from a seeded RNG."""

    def __init__(self, vocab: dict[str, list[str]], positives: Positives, seed: int = 840) -> None:
        self.vocab, self.pos, self.seed = vocab, positives, seed

    # -- text --------------------------------------------------------------------
    def sentence(self, rng: random.Random, lang: str, lo: int = 8, hi: int = 22) -> str:
        words = rng.choices(self.vocab[lang], k=rng.randint(lo, hi))
        words[0] = words[0][:1].upper() + words[0][1:]
        return " ".join(words) + rng.choice(".....?!")

    def paragraph(self, rng: random.Random, lang: str, words: int) -> str:
        out, n = [], 0
        while n < words:
            s = self.sentence(rng, lang)
            out.append(s)
            n += s.count(" ") + 1
        return " ".join(out)

    def headline(self, rng: random.Random, lang: str) -> str:
        return self.sentence(rng, lang, 5, 10).rstrip(".?!")

    # -- page parts --------------------------------------------------------------
    @staticmethod
    def _blob(rng: random.Random, size: int) -> str:
        """Minified-JS-looking text of about ``size`` characters (identifiers and numbers)."""
        letters = "abcdefghijklmnopqrstuvwxyz"
        parts, n = [], 0
        while n < size:
            name = "".join(rng.choices(letters, k=rng.randint(3, 9)))
            val = rng.randint(0, 99999)
            piece = rng.choice(
                (
                    f"var {name}={val};",
                    f'{name}:"{val:x}",',
                    f"function {name}(e,t){{return e*{val}+t}}",
                    f"if({name}>{val}){{{name}=0}}",
                )
            )
            parts.append(piece)
            n += len(piece)
        return "".join(parts)

    @staticmethod
    def _icon(rng: random.Random) -> str:
        d = " ".join(f"L{rng.randint(0, 24)} {rng.randint(0, 24)}" for _ in range(6))
        return (
            '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">'
            f'<path d="M0 0 {d}Z"/></svg>'
        )

    def _teasers(self, rng: random.Random, lang: str, host_url: str, count: int) -> list[str]:
        out = []
        for _ in range(count):
            img = f"{host_url}/img/{rng.randint(1, 99999)}"
            out.append(
                f'<li class="teaser"><article class="teaser__box">'
                f'<a class="teaser__link" href="{host_url}/s/{rng.randint(1, 99999)}.html">'
                f'<picture><source srcset="{img}.webp" type="image/webp">'
                f'<img src="{img}.jpg" alt="" loading="lazy" width="120" height="80"></picture>'
                f'<div class="teaser__text"><span class="teaser__kicker">'
                f"{html.escape(rng.choice(self.vocab[lang]))}</span>"
                f'<h4 class="teaser__title">{html.escape(self.headline(rng, lang))}</h4></div></a>'
                f'<p class="teaser__lead">{html.escape(self.sentence(rng, lang))}</p>'
                "</article></li>"
            )
        return out

    def _inline(self, rng: random.Random, text: str, host_url: str) -> str:
        """Escaped paragraph text with a few inline links and emphasis, as CMSs produce."""
        words = html.escape(text).split(" ")
        for _ in range(min(3, len(words) // 25)):
            i = rng.randrange(len(words) - 2)
            tag = rng.choice(("a", "em", "strong"))
            attrs = f' href="{host_url}/t/{rng.randint(1, 9999)}"' if tag == "a" else ""
            words[i] = f"<{tag}{attrs}>{words[i]}"
            words[i + 1] = f"{words[i + 1]}</{tag}>"
        return " ".join(words)

    def page(
        self,
        rng: random.Random,
        *,
        url: str,
        host_url: str,
        outlet: str,
        lang: str,
        title: str,
        paragraphs: list[str],
        published: datetime,
        teaser_topic: bool,
    ) -> str:
        esc = html.escape
        lead = paragraphs[0]
        sections = SECTIONS[lang].split()
        nav = "".join(
            f'<li class="nav__item"><a class="nav__link" href="{host_url}/{s.lower()}/'
            f'{rng.randint(1, 999)}"><span class="nav__icon">{self._icon(rng)}</span>'
            f'<span class="nav__label">{esc(s)} {esc(self.headline(rng, lang)[:24])}</span>'
            "</a></li>"
            for s in rng.choices(sections, k=60)
        )
        share = "".join(
            f'<li><button class="share share--{n}" aria-label="{n}">{self._icon(rng)}</button></li>'
            for n in ("facebook", "x", "whatsapp", "telegram", "mail", "print", "copy")
        )
        css = "".join(
            f".c{rng.randint(0, 9999)}{{margin:{rng.randint(0, 40)}px;"
            f"color:#{rng.randint(0, 0xFFFFFF):06x};font-size:{rng.randint(10, 30)}px}}"
            for _ in range(80)
        )
        body = []
        for i, para in enumerate(paragraphs):
            if i and i % 4 == 0:
                body.append(f"<h2>{esc(self.headline(rng, lang))}</h2>")
            if i == 2:
                body.append(
                    f'<figure class="figure"><img src="{host_url}/img/{rng.randint(1, 99999)}.jpg"'
                    f' alt="{esc(self.headline(rng, lang))}" width="800" height="450">'
                    f"<figcaption>{esc(self.sentence(rng, lang))} Foto: Agentur</figcaption>"
                    "</figure>"
                )
            if i == 5:
                related = "".join(
                    f'<li><a href="{host_url}/r/{rng.randint(1, 99999)}.html">'
                    f"{esc(self.headline(rng, lang))}</a></li>"
                    for _ in range(4)
                )
                body.append(f'<aside class="related"><ul>{related}</ul></aside>')
            body.append(f'<div class="text-block"><p>{self._inline(rng, para, host_url)}</p></div>')
            if i % 3 == 2:
                slot = rng.randint(1, 9999)
                body.append(
                    f'<div class="ad-wrapper"><div class="ad-label">Anzeige</div><div class="ad" '
                    f'id="ad-{slot}" data-slot="{slot}"><div class="ad__inner"></div></div></div>'
                )
        most_read = self._teasers(rng, lang, host_url, 10)
        if teaser_topic:
            most_read[rng.randrange(len(most_read))] = (
                f'<li class="teaser"><a href="{host_url}/s/{rng.randint(1, 99999)}.html">'
                f'<span class="teaser__title">{esc(rng.choice(self.pos.teasers))}</span></a></li>'
            )
        more = self._teasers(rng, lang, host_url, 8)
        comments = "".join(
            f'<li class="comment" id="c{rng.randint(1, 10**7)}"><div class="comment__meta">'
            f'<img class="avatar" src="{host_url}/u/{rng.randint(1, 9999)}.png" alt="">'
            f'<span class="comment__user">{esc(rng.choice(self.vocab[lang]))}'
            f"{rng.randint(1, 999)}</span> <time>{rng.randint(1, 23)}:{rng.randint(10, 59)}"
            f'</time></div><div class="comment__body"><p class="comment__text">'
            f"{esc(self.paragraph(rng, lang, rng.randint(15, 60)))}</p></div>"
            f'<div class="comment__actions"><button class="comment__reply">{self._icon(rng)}'
            "</button>"
            f'<button class="up">+</button><button class="down">-</button>'
            f'<span class="votes">{rng.randint(0, 99)}</span></div></li>'
            for _ in range(rng.randint(12, 22))
        )
        footer = "".join(
            f'<li><a href="{host_url}/info/{rng.randint(1, 999)}">'
            f"{esc(self.headline(rng, lang)[:30])}"
            "</a></li>"
            for _ in range(45)
        )
        hydration = self._blob(rng, rng.randint(7000, 11000))
        analytics = self._blob(rng, rng.randint(5000, 8000))
        iso = published.isoformat()
        return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} - {esc(outlet)}</title>
<meta name="description" content="{esc(lead[:200])}">
<meta property="og:title" content="{esc(title)}">
<meta property="og:type" content="article">
<meta property="og:url" content="{url}">
<meta property="og:site_name" content="{esc(outlet)}">
<meta property="article:published_time" content="{iso}">
<link rel="canonical" href="{url}">
<link rel="alternate" type="application/rss+xml" href="{host_url}/feed.xml">
<style>{css}</style>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle",
"headline":"{esc(title)}","datePublished":"{iso}","publisher":{{"@type":"Organization",
"name":"{esc(outlet)}"}},"mainEntityOfPage":"{url}"}}</script>
<script>window.dataLayer=window.dataLayer||[];{analytics}</script>
</head>
<body class="page page--story">
<div class="consent" role="dialog"><p>{esc(self.paragraph(rng, lang, 60))}</p>
<button>OK</button></div>
<header class="site-header"><a class="logo" href="{host_url}/">{esc(outlet)}</a>
<nav class="nav" aria-label="Ressorts"><ul>{nav}</ul></nav></header>
<div class="breadcrumb"><a href="{host_url}/">{esc(outlet)}</a> › \
<a href="{host_url}/{sections[0].lower()}">{esc(sections[0])}</a></div>
<div class="site"><div class="site__inner"><div class="layout__wrap">
<main class="layout">
<article class="story">
<header class="story__header"><h1>{esc(title)}</h1>
<p class="story__lead"><strong>{esc(lead[:240])}</strong></p>
<ul class="share-bar">{share}</ul>
<div class="byline">{esc(self.headline(rng, lang)[:30])} \
<time datetime="{iso}">{published:%d.%m.%Y %H:%M}</time></div>
</header>
<div class="story__body">
{"".join(body)}
</div>
</article>
<aside class="sidebar">
<section class="most-read"><h3>{MOST_READ[lang]}</h3><ol>{"".join(most_read)}</ol></section>
<div class="ad" data-slot="{rng.randint(1, 999)}"></div>
<section class="more"><ul>{"".join(more)}</ul></section>
</aside>
<section class="comments"><h3>{COMMENTS[lang]}</h3><ol>{comments}</ol></section>
</main>
</div></div></div>
<footer class="site-footer"><ul>{footer}</ul>
<p>{esc(self.paragraph(rng, lang, 80))}</p></footer>
<script id="__DATA__" type="application/json">{{"state":"{hydration}"}}</script>
</body>
</html>
"""

    # -- items and feeds -----------------------------------------------------------
    def item(
        self,
        *,
        feed: int,
        index: int,
        host_url: str,
        outlet: str,
        on_topic: bool,
        teaser_topic: bool,
        compress: bool,
        now: datetime,
    ) -> Item:
        rng = random.Random(f"{self.seed}-{feed}-{index}")
        lang = rng.choices([k for k, _ in LANG_WEIGHTS], [w for _, w in LANG_WEIGHTS])[0]
        target = rng.randint(600, 1200)
        paragraphs: list[str] = []
        if on_topic:
            title = f"{rng.choice(self.pos.titles)} ({feed}.{index})"
            picked = rng.sample(self.pos.paragraphs, k=min(4, len(self.pos.paragraphs)))
            # A unique opening sentence keeps trafilatura's cross-page de-duplication off
            # and makes each feed description distinct (the bot keys items by it, too).
            for p in picked:
                paragraphs.append(f"{self.sentence(rng, lang)} {p}")
        else:
            title = self.headline(rng, lang)
        words = sum(p.count(" ") + 1 for p in paragraphs)
        while words < target:
            p = self.paragraph(rng, lang, rng.randint(40, 110))
            paragraphs.insert(rng.randint(1, len(paragraphs)) if paragraphs else 0, p)
            words += p.count(" ") + 1
        path = f"/f{feed}/a{index}.html"
        url = host_url + path
        page = self.page(
            rng,
            url=url,
            host_url=host_url,
            outlet=outlet,
            lang=lang,
            title=title,
            paragraphs=paragraphs,
            published=now - timedelta(minutes=index),
            teaser_topic=teaser_topic,
        ).encode("utf-8")
        raw = len(page)
        if compress:
            page = gzip.compress(page, 6, mtime=0)
        description = paragraphs[0][:300].rsplit(" ", 1)[0] + " …"
        return Item(path, title, description, lang, on_topic, teaser_topic, words, page, raw)


def rss(title: str, host_url: str, items: list[Item], now: datetime) -> bytes:
    """An RSS 2.0 document for ``items``."""
    esc = html.escape
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{esc(title)}</title><link>{host_url}/</link>"
        f"<description>{esc(title)}</description><language>de</language>"
    ]
    for i, it in enumerate(items):
        out.append(
            f"<item><title>{esc(it.title)}</title><link>{host_url}{it.path}</link>"
            f'<guid isPermaLink="true">{host_url}{it.path}</guid>'
            f"<description>{esc(it.description)}</description>"
            f"<pubDate>{format_datetime(now - timedelta(minutes=i))}</pubDate></item>"
        )
    out.append("</channel></rss>")
    return "".join(out).encode("utf-8")


def feed_host(index: int) -> str:
    """Feed ``index`` (0-based) lives on 127.0.1.1, 127.0.2.1, … then 127.1.1.1, …"""
    return f"127.{index // 254}.{index % 254 + 1}.1"


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
