"""Table definitions (SQLAlchemy Core), portable across SQLite and PostgreSQL.

Migrations in ``bot/migrations`` create these; this module is what queries use.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("config_url", sa.String(2048), nullable=False, unique=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("language", sa.String(16)),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("etag", sa.String(512)),
    sa.Column("last_modified", sa.String(128)),
    sa.Column("first_polled_at", sa.DateTime(timezone=True)),
    sa.Column("last_success_at", sa.DateTime(timezone=True)),
    sa.Column("last_error_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("error_kind", sa.String(32)),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, default=0),
    sa.Column("items_seen", sa.Integer, nullable=False, default=0),
    sa.Column("interval_seconds", sa.Float),  # per-feed override from feeds.yaml
    sa.Column("current_interval", sa.Float),  # the adaptive interval now in force
    sa.Column("next_poll_at", sa.DateTime(timezone=True)),
    sa.Column("failing_since", sa.DateTime(timezone=True)),
    sa.Column("broken", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("lease_owner", sa.String(100)),  # the replica polling this feed now
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    # Items stored under an older identity rule: looked up by their old keys once more.
    sa.Column("legacy_keys", sa.Boolean, nullable=False, server_default=sa.false()),
    # Every item of the feed's latest full document was seen at or after this time:
    # pruning keeps those (bot/store/retention.py). NULL: keep all its items.
    sa.Column("listed_since", sa.DateTime(timezone=True)),
    # Seconds after its due time the latest poll started (/feeds shows a late feed).
    sa.Column("poll_lateness", sa.Float),
)

stories = sa.Table(
    "stories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("fingerprint", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_stories_created", "created_at"),
)

items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id"), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("feed_id", "key_hash", name="uq_items_feed_key"),
)

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    sa.Column("text_source", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id")),
    sa.Column("language", sa.String(16)),  # the feed's, or guessed from the script
    sa.Column("snippet", sa.Text),  # one plain line around the strongest hits, for digests
)

matches = sa.Table(
    "matches",
    metadata,
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id"), primary_key=True),
    sa.Column("topic_id", sa.String(40), primary_key=True),
    sa.Column("hits", sa.JSON, nullable=False),
)

chats = sa.Table(
    "chats",
    metadata,
    sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deactivated_reason", sa.Text),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("mode", sa.String(16), nullable=False, server_default="instant"),
    sa.Column("digest_at", sa.String(5)),
    sa.Column("last_digest_at", sa.DateTime(timezone=True)),
    sa.Column("language", sa.String(8)),  # what the bot speaks here (None: the sender's)
    sa.Column("timezone", sa.String(64)),  # an IANA zone name (None: UTC)
    sa.Column("quiet_start", sa.String(5)),  # quiet hours, local HH:MM
    sa.Column("quiet_end", sa.String(5)),
    sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),  # while paused
)

mutes = sa.Table(
    "mutes",
    metadata,
    sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("topic_id", sa.String(40), primary_key=True),
    sa.Column("until", sa.DateTime(timezone=True), nullable=False),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("chat_id", sa.BigInteger, sa.ForeignKey("chats.chat_id"), primary_key=True),
    sa.Column("topic_id", sa.String(40), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id")),
    sa.Column("digest_key", sa.String(64)),
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id")),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("also", sa.JSON),  # other outlets that ran the same story: [{name, url}]
    sa.Column("lang", sa.String(8)),  # the language the text was rendered in
    sa.Column("topics", sa.JSON),  # the chat's topics that matched, for the alert's buttons
    sa.Column("needs_edit", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("message_id", sa.BigInteger),
    sa.Column("last_error", sa.Text),
    sa.UniqueConstraint("chat_id", "article_id", name="uq_outbox_chat_article"),
    sa.UniqueConstraint("chat_id", "digest_key", name="uq_outbox_chat_digest"),
    sa.UniqueConstraint("chat_id", "story_id", name="uq_outbox_chat_story"),
    sa.Index("ix_outbox_due", "status", "next_attempt_at"),
)

# "Not relevant" reports: raw material for tuning rules, kept when the article is pruned
# (hence a copy of its link and title, and no foreign key to it).
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("article_id", sa.Integer, nullable=False),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("user_id", sa.BigInteger),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("chat_id", "article_id", name="uq_feedback_chat_article"),
    sa.Index("ix_feedback_created", "created_at"),
)

# The terms that fired for a reported article, one row per topic and term.
feedback_terms = sa.Table(
    "feedback_terms",
    metadata,
    sa.Column(
        "feedback_id",
        sa.Integer,
        sa.ForeignKey("feedback.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("topic_id", sa.String(40), primary_key=True),
    sa.Column("term", sa.String(400), primary_key=True),
    sa.Column("text", sa.String(400), nullable=False),  # what the term hit, as written
    sa.Index("ix_feedback_terms_term", "topic_id", "term"),
)

# Items whose page could not be analysed (worker deadline or crash, page unreachable):
# retried on later polls, then recorded on the feed's text with the reason kept here.
item_problems = sa.Table(
    "item_problems",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id"), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("page_hash", sa.String(64), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # retrying, given_up, quarantined
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("kills", sa.Integer, nullable=False),  # times the page killed its worker
    sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("feed_id", "key_hash", name="uq_item_problems_feed_key"),
    sa.Index("ix_item_problems_page", "page_hash"),
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Recent articles, matched or not, for the console's archive and "Try on past news"
# (kept for web.archive_days). Full-text search: archive_fts (SQLite FTS5, kept by
# triggers) or a GIN expression index (PostgreSQL), both made by migration 0009.
archive = sa.Table(
    "archive",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("feed_id", sa.Integer, nullable=False),
    sa.Column("article_id", sa.Integer),  # the alerted article (outbox rows), if it matched
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("language", sa.String(16)),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("topics", sa.JSON, nullable=False),  # topic ids that matched
    sa.Column("terms", sa.JSON, nullable=False),  # the texts the terms hit, for highlighting
    sa.Column("matched", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_archive_created", "created_at", "feed_id"),  # covers the per-day counts
    sa.Index("ix_archive_language", "language"),
    sa.Index("ix_archive_matched_created", "matched", "created_at"),
    sa.Index("ix_archive_feed_created", "feed_id", "created_at"),
    sa.Index("ix_archive_article", "article_id"),
)
# PostgreSQL's full-text index (ix_archive_search, GIN over bot.store.fulltext.PG_DOCUMENT)
# is an expression index: made by migration 0009 alone, as Alembic cannot compare those.


archive_topics = sa.Table(
    "archive_topics",
    metadata,
    sa.Column(
        "archive_id", sa.Integer, sa.ForeignKey("archive.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("topic_id", sa.String(40), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_archive_topics_topic", "topic_id", "created_at"),
)

# One-time console login links, stored as SHA-256 of the token (replicas share them).
console_logins = sa.Table(
    "console_logins",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
)
