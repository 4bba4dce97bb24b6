"""inbox list speed: the conversation keeps its latest message's id and a needs-action flag
(derived from its messages, backfilled here), an index for the needs-action filter, and one
on conversation_patient.patient_id for a patient's conversations

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_message_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('needs_action', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # the same rule as messaging.conversations.refresh_derived
    op.execute("UPDATE conversation SET last_message_id = (SELECT max(m.id) FROM message m "
               "WHERE m.conversation_id = conversation.id AND m.status <> 'cancelled')")
    op.execute("UPDATE conversation SET needs_action = TRUE WHERE EXISTS (SELECT 1 FROM "
               "message m WHERE m.conversation_id = conversation.id "
               "AND m.needs_staff_action = TRUE)")
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_needs_action',
                              ['practice_id', 'last_message_at', 'id'], unique=False,
                              postgresql_where=sa.text('needs_action'),
                              sqlite_where=sa.text('needs_action'))
    with op.batch_alter_table('conversation_patient', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_patient_patient', ['patient_id'], unique=False)


def downgrade():
    with op.batch_alter_table('conversation_patient', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_patient_patient')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_needs_action')
        batch_op.drop_column('needs_action')
        batch_op.drop_column('last_message_id')
