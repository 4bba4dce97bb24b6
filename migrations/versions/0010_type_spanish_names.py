"""appointment types' Spanish names

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-03 15:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appointment_type', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_es', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('appointment_type', schema=None) as batch_op:
        batch_op.drop_column('name_es')
