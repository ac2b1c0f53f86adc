"""Portable insert-or-ignore, shared by every store module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite


def insert_ignore(
    conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> int:
    """Insert rows, skipping those that collide on ``keys``; return how many were new."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # ~35 ms of imports a SQLite store never needs

        # Count the rows RETURNING gives back: SQLAlchemy adds an implicit RETURNING for
        # the primary key, and then psycopg reports rowcount -1, inserted or not.
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=list(keys))
        stmt = stmt.returning(sa.literal_column("1"))
        return sum(len(conn.execute(stmt, row).all()) for row in rows)
    stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    return sum(conn.execute(stmt, row).rowcount for row in rows)
