"""audit chain sealed after commit: an event is inserted unsealed (no chain position, no
hash) and a sealer chains committed rows later; chain_seq is the row's place in the chain
(backfilled in id order, the order existing rows were chained in)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_seq', sa.BigInteger(), nullable=True))
        batch_op.alter_column('chain_hash', existing_type=sa.String(length=64), nullable=True)
    op.execute("UPDATE audit_event SET chain_seq = ordered.n FROM (SELECT id, row_number() "
               "OVER (ORDER BY id) AS n FROM audit_event) AS ordered "
               "WHERE ordered.id = audit_event.id")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_chain_seq', ['chain_seq'], unique=True)
        batch_op.create_index('ix_audit_event_unsealed', ['id'], unique=False,
                              postgresql_where=sa.text('chain_seq IS NULL'),
                              sqlite_where=sa.text('chain_seq IS NULL'))


def downgrade():
    # Unsealed rows cannot be chained here (the key is the application's): seal them first
    # (`flask audit seal`), or this refuses to make chain_hash required again.
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_unsealed')
        batch_op.drop_index('ix_audit_event_chain_seq')
        batch_op.alter_column('chain_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('chain_seq')
