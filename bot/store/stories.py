"""Stories: near-duplicate articles across outlets share one story row."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.store.schema import stories

FP_BYTES = 256  # a MinHash signature of 64 x 32-bit slots (bot.analysis.fingerprint)


class StoryStore:
    """Fingerprints of recent stories, so a wire report run by several outlets is one story."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def recent(self, since: datetime) -> list[tuple[int, int]]:
        """``(story_id, fingerprint)`` of stories first seen after ``since``."""
        query = sa.select(stories.c.id, stories.c.fingerprint).where(stories.c.created_at >= since)
        with self.engine.connect() as conn:
            return [(sid, int.from_bytes(fp, "little")) for sid, fp in conn.execute(query)]

    def newer_than(self, story_id: int) -> list[tuple[int, int]]:
        """Stories created after ``story_id`` (by any replica)."""
        query = sa.select(stories.c.id, stories.c.fingerprint).where(stories.c.id > story_id)
        with self.engine.connect() as conn:
            return [(sid, int.from_bytes(fp, "little")) for sid, fp in conn.execute(query)]

    def create(self, fingerprint: int) -> int:
        """A new story with this fingerprint; returns its id."""
        with self.engine.begin() as conn:
            return conn.execute(
                stories.insert().values(
                    fingerprint=fingerprint.to_bytes(FP_BYTES, "little"),
                    created_at=utcnow(),
                )
            ).inserted_primary_key[0]
