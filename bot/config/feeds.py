"""The feed list file (``config/feeds.yaml``): validated as a whole at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config.yamlfile import load_model


class FeedConfig(BaseModel):
    """One configured feed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(min_length=8, max_length=2048)
    name: str = Field(min_length=1, max_length=200)
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
    enabled: bool = True
    interval_minutes: float | None = Field(None, gt=0, le=24 * 60)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")) or " " in value:
            raise ValueError("must be an http:// or https:// URL")
        return value


class FeedList(BaseModel):
    """The whole file: a list of feeds, each URL once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feeds: tuple[FeedConfig, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> FeedList:
        seen: set[str] = set()
        for feed in self.feeds:
            if feed.url in seen:
                raise ValueError(f"feed {feed.url} is listed twice")
            seen.add(feed.url)
        return self

    def enabled(self) -> list[tuple[str, str, str | None, float | None]]:
        """``(url, name, language, interval_seconds)`` of every enabled feed, for the store."""
        return [
            (f.url, f.name, f.language, f.interval_minutes * 60 if f.interval_minutes else None)
            for f in self.feeds
            if f.enabled
        ]


def load_feeds(path: Path) -> FeedList:
    """Read and validate the feed list; ConfigError names the file, line and key."""
    return load_model(path, FeedList)
