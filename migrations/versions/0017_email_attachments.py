"""email attachments: a staff reply's files are kept with the message, as MMS pictures are

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message_media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filename', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('message_media', schema=None) as batch_op:
        batch_op.drop_column('filename')
