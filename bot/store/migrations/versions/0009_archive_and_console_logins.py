"""archive and console logins: recent articles (matched or not) for the web console

The console's archive and "Try on past news" need the text of recent articles,
including those that matched nothing; ``archive`` keeps them for ``web.archive_days``.
Full-text search uses the database's own index: an FTS5 external-content table kept
by triggers on SQLite, a GIN index on the tsvector of title and text on PostgreSQL.
``console_logins`` holds the one-time login links (hashed), shared by replicas.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

PG_DOCUMENT = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(body, ''))"
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE archive_fts USING fts5(title, body, content='archive', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER archive_ai AFTER INSERT ON archive BEGIN "
    "INSERT INTO archive_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER archive_ad AFTER DELETE ON archive BEGIN "
    "INSERT INTO archive_fts(archive_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER archive_au AFTER UPDATE ON archive BEGIN "
    "INSERT INTO archive_fts(archive_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO archive_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
]


def upgrade() -> None:
    op.create_table(
        'archive',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('feed_id', sa.Integer, nullable=False),
        sa.Column('article_id', sa.Integer, nullable=True),
        sa.Column('url', sa.String(2048), nullable=False),
        sa.Column('title', sa.Text, nullable=False),
        sa.Column('body', sa.Text, nullable=False),
        sa.Column('source', sa.String(200), nullable=False),
        sa.Column('language', sa.String(16), nullable=True),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('topics', sa.JSON, nullable=False),
        sa.Column('terms', sa.JSON, nullable=False),
        sa.Column('matched', sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index('ix_archive_created', 'archive', ['created_at', 'feed_id'])
    op.create_index('ix_archive_language', 'archive', ['language'])
    op.create_index('ix_archive_matched_created', 'archive', ['matched', 'created_at'])
    op.create_index('ix_archive_feed_created', 'archive', ['feed_id', 'created_at'])
    op.create_index('ix_archive_article', 'archive', ['article_id'])
    op.create_table(
        'archive_topics',
        sa.Column('archive_id', sa.Integer, sa.ForeignKey('archive.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('topic_id', sa.String(40), primary_key=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_archive_topics_topic', 'archive_topics', ['topic_id', 'created_at'])
    op.create_table(
        'console_logins',
        sa.Column('token_hash', sa.String(64), primary_key=True),
        sa.Column('user_id', sa.BigInteger, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    )
    if op.get_bind().dialect.name == 'postgresql':
        # An expression index: queries use exactly this expression (bot/store/fulltext.py).
        op.execute(f"CREATE INDEX ix_archive_search ON archive USING GIN ({PG_DOCUMENT})")
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        op.execute("DROP TABLE archive_fts")
    op.drop_table('console_logins')
    op.drop_table('archive_topics')
    op.drop_table('archive')
