"""Full-text search of the archive in the database's own index (made by migration 0009).

SQLite: the FTS5 external-content table ``archive_fts``, kept by triggers.
PostgreSQL: a GIN index over ``PG_DOCUMENT``, the tsvector of title and text.
User words become prefix terms that must all appear; nothing else of the query
syntax reaches the database.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.selectable import Join

from bot.store.schema import archive

FTS = sa.table("archive_fts", sa.column("rowid", sa.Integer))  # SQLite's FTS5 (0009)


class _CrossJoin(Join):
    """``archive_fts CROSS JOIN archive``: SQLite then keeps FTS5 as the outer loop.

    With a plain JOIN the planner may scan archive and run the MATCH once per row
    (a second for a rare word over 100,000 articles); CROSS JOIN fixes the order.
    """

    inherit_cache = True


@compiles(_CrossJoin, "sqlite")
def _cross_join(element: _CrossJoin, compiler: Any, **kw: Any) -> str:
    return compiler.visit_join(element, **kw).replace(" JOIN ", " CROSS JOIN ", 1)


# What the GIN index of migration 0009 indexes: searches must use exactly this expression.
PG_DOCUMENT = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(body, ''))"
_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """User words as an FTS5 query: each word a quoted prefix term, all required."""
    return " ".join(f'"{w}"*' for w in _WORD.findall(text)[:20])


def has_words(text: str) -> bool:
    """Is there anything to search for in ``text``?"""
    return bool(_WORD.search(text))


def search(conn: sa.Connection, query: sa.Select, text: str) -> sa.Select:
    """``query`` narrowed to the archived articles containing every word of ``text``."""
    if conn.dialect.name == "postgresql":
        words = [w.replace("'", "") for w in _WORD.findall(text)[:20]]
        match = sa.text(f"{PG_DOCUMENT} @@ to_tsquery('simple', :tsq)").bindparams(
            tsq=" & ".join(f"{w}:*" for w in words)
        )
        return query.where(match)
    # A join, so FTS5 hands rows over newest (highest rowid) first and a page
    # stops after PAGE_SIZE of them, however many articles a common word is in.
    match = sa.text("archive_fts MATCH :q").bindparams(q=fts_query(text))
    return query.select_from(_CrossJoin(FTS, archive, FTS.c.rowid == archive.c.id)).where(match)
