"""item problems: items whose page could not be analysed, retried, then recorded with a reason

An item whose page timed out or killed its worker used to fall back to the feed's
text and, matching nothing, be recorded as seen: its alert was lost without a
trace. Each such attempt is now counted here; the item is retried on later polls
until the count runs out (or its page, having killed its worker twice, is
quarantined), and the reason stays here for /feeds and the metrics.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'item_problems',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('feed_id', sa.Integer(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('page_hash', sa.String(length=64), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('kills', sa.Integer(), nullable=False),
        sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['feed_id'], ['feeds.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('feed_id', 'key_hash', name='uq_item_problems_feed_key'),
    )
    op.create_index('ix_item_problems_page', 'item_problems', ['page_hash'])


def downgrade() -> None:
    op.drop_index('ix_item_problems_page', table_name='item_problems')
    op.drop_table('item_problems')
