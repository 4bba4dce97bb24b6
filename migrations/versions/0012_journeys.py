"""appointment journeys: rules per practice and type; confirmation, lateness and overdue
marks on appointments; the suggested action of a reply left for staff

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-03 15:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'journey_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('practice_id', sa.Integer(), nullable=False),
        sa.Column('appointment_type_id', sa.Integer(), nullable=True),
        sa.Column('confirmation', sa.Boolean(), nullable=False),
        sa.Column('reminders', sa.String(length=120), nullable=False),
        sa.Column('review', sa.Boolean(), nullable=False),
        sa.Column('missed_you', sa.Boolean(), nullable=False),
        sa.Column('apology', sa.Boolean(), nullable=False),
        sa.Column('review_url', sa.String(length=300), nullable=True),
        sa.Column('review_delay_hours', sa.Integer(), nullable=False),
        sa.Column('review_period_days', sa.Integer(), nullable=False),
        sa.Column('no_show_after_minutes', sa.Integer(), nullable=False),
        sa.Column('auto_no_show', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['appointment_type_id'], ['appointment_type.id'],
                                name=op.f('fk_journey_rule_appointment_type_id_appointment_type'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['practice_id'], ['practice.id'],
                                name=op.f('fk_journey_rule_practice_id_practice')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_rule')),
        sa.UniqueConstraint('practice_id', 'appointment_type_id',
                            name=op.f('uq_journey_rule_practice_id_appointment_type_id')),
    )
    with op.batch_alter_table('journey_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journey_rule_practice_id'), ['practice_id'],
                              unique=False)
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('running_late_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('running_late_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suggested_action', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('suggested_action')
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('overdue_at')
        batch_op.drop_column('running_late_minutes')
        batch_op.drop_column('running_late_at')
        batch_op.drop_column('confirmed_at')
    with op.batch_alter_table('journey_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journey_rule_practice_id'))
    op.drop_table('journey_rule')
