"""the shared inbox: conversation state (snooze, assignment, per-staff reads, needs action),
MMS media, internal notes, canned replies, presence, search tokens

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-03 15:27:29

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('canned_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_canned_reply_practice_id_practice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_reply'))
    )
    with op.batch_alter_table('canned_reply', schema=None) as batch_op:
        batch_op.create_index('ix_canned_reply_practice_title', ['practice_id', 'title'], unique=True)

    op.create_table('inbox_search',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_inbox_search_practice_id_practice')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_inbox_search_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_search')),
    sa.UniqueConstraint('token', name=op.f('uq_inbox_search_token'))
    )
    with op.batch_alter_table('inbox_search', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_search_created_at'), ['created_at'], unique=False)

    op.create_table('conversation_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], name=op.f('fk_conversation_note_conversation_id_conversation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_conversation_note_practice_id_practice')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_conversation_note_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_note'))
    )
    with op.batch_alter_table('conversation_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_note_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('conversation_presence',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('typing', sa.Boolean(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], name=op.f('fk_conversation_presence_conversation_id_conversation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_conversation_presence_practice_id_practice')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_conversation_presence_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('conversation_id', 'staff_id', name=op.f('pk_conversation_presence'))
    )
    op.create_table('conversation_read',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], name=op.f('fk_conversation_read_conversation_id_conversation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_conversation_read_practice_id_practice')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_conversation_read_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('conversation_id', 'staff_id', name=op.f('pk_conversation_read'))
    )
    op.create_table('message_media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('source_url', sa.Text(), nullable=True),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('fetch_error', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_media_message_id_message'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_message_media_practice_id_practice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_media'))
    )
    with op.batch_alter_table('message_media', schema=None) as batch_op:
        batch_op.create_index('ix_message_media_message', ['message_id', 'position'], unique=True)

    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snoozed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('assigned_staff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('assigned_team', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('last_inbound_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_conversation_practice_activity', ['practice_id', 'last_message_at', 'id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_conversation_assigned_staff_id_staff_user'), 'staff_user', ['assigned_staff_id'], ['id'])

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_staff_action', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_index('ix_message_needs_staff_action', ['conversation_id'], unique=False,
                              postgresql_where=sa.text('needs_staff_action'),
                              sqlite_where=sa.text('needs_staff_action'))
    # A text flagged as a likely opt-out waits for staff: it needs action.
    op.execute("UPDATE message SET needs_staff_action = TRUE "
               "WHERE direction = 'inbound' AND status_reason = 'likely_opt_out'")
    op.execute("UPDATE conversation SET last_inbound_at = (SELECT max(m.created_at) FROM message m "
               "WHERE m.conversation_id = conversation.id AND m.direction = 'inbound')")



def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_needs_staff_action')
        batch_op.drop_column('needs_staff_action')

    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_conversation_assigned_staff_id_staff_user'), type_='foreignkey')
        batch_op.drop_index('ix_conversation_practice_activity')
        batch_op.drop_column('last_inbound_at')
        batch_op.drop_column('assigned_team')
        batch_op.drop_column('assigned_staff_id')
        batch_op.drop_column('snoozed_until')

    with op.batch_alter_table('message_media', schema=None) as batch_op:
        batch_op.drop_index('ix_message_media_message')

    op.drop_table('message_media')
    op.drop_table('conversation_read')
    op.drop_table('conversation_presence')
    with op.batch_alter_table('conversation_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_note_conversation_id'))

    op.drop_table('conversation_note')
    with op.batch_alter_table('inbox_search', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_search_created_at'))

    op.drop_table('inbox_search')
    with op.batch_alter_table('canned_reply', schema=None) as batch_op:
        batch_op.drop_index('ix_canned_reply_practice_title')

    op.drop_table('canned_reply')
