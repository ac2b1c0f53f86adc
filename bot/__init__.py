"""newsbot: news feeds -> article text -> topic rules -> Telegram alerts."""

__version__ = "0.1.0"
