"""inbound queue: the SMS webhook stores a verified text in one INSERT (inbound_text, unique
on Twilio's MessageSid, its fields encrypted) and the worker routes it

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'inbound_text',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_sid', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.Column('refused_reason', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_sid'),
    )
    op.create_index('ix_inbound_text_waiting', 'inbound_text', ['id'], unique=False,
                    postgresql_where=sa.text('refused_reason IS NULL'),
                    sqlite_where=sa.text('refused_reason IS NULL'))


def downgrade():
    # Texts still waiting are routed first (`flask inbound route`), or they are lost here.
    op.drop_index('ix_inbound_text_waiting', table_name='inbound_text')
    op.drop_table('inbound_text')
