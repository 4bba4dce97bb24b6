"""the desk's "new bookings" list: which staff member has seen which online booking

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03 16:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'appointment_seen',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('practice_id', sa.Integer(), nullable=False),
        sa.Column('appointment_id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['practice_id'], ['practice.id'],
                                name=op.f('fk_appointment_seen_practice_id_practice')),
        sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], ondelete='CASCADE',
                                name=op.f('fk_appointment_seen_appointment_id_appointment')),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], ondelete='CASCADE',
                                name=op.f('fk_appointment_seen_staff_id_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_seen')),
        sa.UniqueConstraint('appointment_id', 'staff_id',
                            name='uq_appointment_seen_appointment_staff'),
    )
    with op.batch_alter_table('appointment_seen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_seen_practice_id'), ['practice_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_seen_staff_id'), ['staff_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('appointment_seen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_seen_staff_id'))
        batch_op.drop_index(batch_op.f('ix_appointment_seen_practice_id'))
    op.drop_table('appointment_seen')
