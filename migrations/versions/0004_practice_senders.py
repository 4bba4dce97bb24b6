"""practice senders: each practice's SMS number / Messaging Service and email sender

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 12:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('practice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_from_number', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('sms_messaging_service_sid', sa.String(length=34),
                                      nullable=True))
        batch_op.add_column(sa.Column('email_from_address', sa.String(length=254),
                                      nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_practice_sms_from_number'),
                                          ['sms_from_number'])
        batch_op.create_unique_constraint(batch_op.f('uq_practice_sms_messaging_service_sid'),
                                          ['sms_messaging_service_sid'])


def downgrade():
    with op.batch_alter_table('practice', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_practice_sms_messaging_service_sid'),
                                 type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_practice_sms_from_number'), type_='unique')
        batch_op.drop_column('email_from_address')
        batch_op.drop_column('sms_messaging_service_sid')
        batch_op.drop_column('sms_from_number')
