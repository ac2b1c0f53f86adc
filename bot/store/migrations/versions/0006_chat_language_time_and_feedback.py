"""chat language, time zone, quiet hours; alert buttons; not-relevant feedback

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id', 'article_id', name='uq_feedback_chat_article')
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_created', ['created_at'], unique=False)

    op.create_table('feedback_terms',
    sa.Column('feedback_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.String(length=40), nullable=False),
    sa.Column('term', sa.String(length=400), nullable=False),
    sa.Column('text', sa.String(length=400), nullable=False),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('feedback_id', 'topic_id', 'term')
    )
    with op.batch_alter_table('feedback_terms', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_terms_term', ['topic_id', 'term'], unique=False)

    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('snippet', sa.Text(), nullable=True))

    with op.batch_alter_table('chats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('quiet_start', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('quiet_end', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('skipped', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lang', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('topics', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('topics')
        batch_op.drop_column('lang')

    with op.batch_alter_table('chats', schema=None) as batch_op:
        batch_op.drop_column('skipped')
        batch_op.drop_column('quiet_end')
        batch_op.drop_column('quiet_start')
        batch_op.drop_column('timezone')
        batch_op.drop_column('language')

    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_column('snippet')
        batch_op.drop_column('language')

    with op.batch_alter_table('feedback_terms', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_terms_term')

    op.drop_table('feedback_terms')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_created')

    op.drop_table('feedback')
