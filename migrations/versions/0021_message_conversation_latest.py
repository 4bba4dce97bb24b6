"""a conversation's latest message by index: message (conversation_id, id) replaces the index
on conversation_id alone, so recomputing a conversation's latest message (every batch the
dispatcher sends, every routed text) reads one index entry instead of scanning the newest
messages of every conversation (1 s for 100 conversations among 100,000 messages)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 10:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_conversation_latest', ['conversation_id', 'id'],
                              unique=False)
        batch_op.drop_index('ix_message_conversation_id')


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_conversation_id', ['conversation_id'], unique=False)
        batch_op.drop_index('ix_message_conversation_latest')
