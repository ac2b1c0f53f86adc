"""feeds listed since: items a feed still lists are never pruned, whatever their age

Pruning forgot seen items older than retention_days even when the feed still
listed them, so the next poll alerted them again. Each full poll now refreshes
the seen_at of the items it lists (at most once a day) and records, per feed,
the time every item of its latest document was seen since; pruning keeps any
item seen since then. NULL (a feed not polled in full since this migration)
keeps all of its items until its next full poll.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (see 0005): a batch would rebuild a table items refer to.
    op.add_column('feeds', sa.Column('listed_since', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('listed_since')
