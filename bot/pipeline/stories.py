"""Story grouping: near-duplicate articles across outlets become one story.

The outbox keeps one row per chat and story, so a wire report run by five outlets
alerts a chat once, and the later outlets are added as "also reported by".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

from bot.analysis.fingerprint import EMPTY, THRESHOLD, distance
from bot.core.clock import utcnow

if TYPE_CHECKING:
    from bot.pipeline.recorder import Recorder
    from bot.store import Store

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


class StoryGrouper:
    """The story of each matched article: an earlier outlet's, or a new one.

    Recent stories are loaded from the store on first use; stories other replicas
    start meanwhile are read before a new one is opened.
    """

    def __init__(self, store: Store, recorder: Recorder, window_hours: float) -> None:
        self.store, self.recorder, self.window_hours = store, recorder, window_hours
        self._index: StoryIndex[int] | None = None
        self._seen = 0  # the newest story id in the index

    def _add(self, story_id: int, fp: int) -> None:
        assert self._index is not None
        self._index.add(story_id, fp)
        self._seen = max(self._seen, story_id)

    def story_of(self, fp: int) -> int | None:
        """The story id for fingerprint ``fp`` (None for a text too short to have one)."""
        if fp == EMPTY:
            return None
        if self._index is None:
            since = utcnow() - timedelta(hours=self.window_hours)
            self._index = StoryIndex()
            for story_id, story_fp in self.store.stories.recent(since):
                self._add(story_id, story_fp)
        found = self._index.match(fp)
        if found is None:  # another replica may have started this story meanwhile
            for story_id, story_fp in self.store.stories.newer_than(self._seen):
                self._add(story_id, story_fp)
            found = self._index.match(fp)
        if found is None:
            found = self.recorder.new_story(fp)
            if found is not None:
                self._add(found, fp)
        return found
