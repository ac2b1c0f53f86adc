"""feeds poll lateness: how late each feed's latest poll started, for /feeds

Feeds are scheduled one by one. When a host's feeds cannot each be polled once
per interval at its politeness spacing (or the pollers are all busy), polls start
late; /feeds shows it per feed instead of the interval silently stretching.
NULL: not polled since this migration.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (see 0005): a batch would rebuild a table items refer to.
    op.add_column('feeds', sa.Column('poll_lateness', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('poll_lateness')
