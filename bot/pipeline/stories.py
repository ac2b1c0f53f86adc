"""Story grouping: near-duplicate articles across outlets become one story."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

from bot.analysis.fingerprint import EMPTY, THRESHOLD, distance

StoryId = TypeVar("StoryId")


class StoryIndex(Generic[StoryId]):
    """Recent stories' fingerprints; a new fingerprint joins the nearest within threshold.

    A story may be added once per member, so a new copy matches any earlier copy of
    it. The scan is linear: a few thousand recent stories cost milliseconds.
    """

    def __init__(
        self, stories: Iterable[tuple[StoryId, int]] = (), threshold: int = THRESHOLD
    ) -> None:
        self.threshold = threshold
        self._entries: list[tuple[StoryId, int]] = []
        for story_id, fp in stories:
            self.add(story_id, fp)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, story_id: StoryId, fp: int) -> None:
        """Remember ``fp`` as a member of ``story_id`` (an ``EMPTY`` one is ignored)."""
        if fp != EMPTY:
            self._entries.append((story_id, fp))

    def nearest(self, fp: int) -> tuple[StoryId, int] | None:
        """The closest story and its distance, regardless of the threshold."""
        if fp == EMPTY or not self._entries:
            return None
        best = min(self._entries, key=lambda entry: distance(fp, entry[1]))
        return best[0], distance(fp, best[1])

    def match(self, fp: int) -> StoryId | None:
        """The story ``fp`` belongs to, or None when it is a new story."""
        found = self.nearest(fp)
        if found is None or found[1] > self.threshold:
            return None
        return found[0]

    def assign(self, fp: int, new_id: StoryId) -> StoryId:
        """The story ``fp`` belongs to, recording it there; ``new_id`` when it is new."""
        story_id = self.match(fp)
        story_id = new_id if story_id is None else story_id
        self.add(story_id, fp)
        return story_id
