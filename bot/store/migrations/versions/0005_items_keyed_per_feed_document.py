"""items keyed per feed document: feeds polled before it keep their old keys for one poll

Item identity changed from "seen under any of guid, url, text digest" to one key
decided per feed document (bot/ingest/identity.py). Stored keys are hashes, so
they cannot be rewritten here; instead every feed that has been polled is marked,
and its next full poll also looks items up by their old keys (bot/ingest/legacy.py)
and stores the new ones, so the upgrade re-alerts nothing.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch: SQLite's batch mode rebuilds the table, and
    # dropping the old one fails once items refer to it (a populated database).
    op.add_column(
        'feeds', sa.Column('legacy_keys', sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    feeds = sa.table('feeds', sa.column('legacy_keys', sa.Boolean), sa.column('first_polled_at'))
    op.execute(feeds.update().where(feeds.c.first_polled_at.is_not(None)).values(legacy_keys=True))


def downgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('legacy_keys')
