"""billing: fee schedule, household guarantors, payment requests, ledger, payment plans

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-03 15:56:39.245512

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fee_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('appointment_type_id', sa.Integer(), nullable=False),
    sa.Column('fee_cents', sa.Integer(), nullable=False),
    sa.Column('copay_cents', sa.Integer(), nullable=False),
    sa.Column('updated_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_type_id'], ['appointment_type.id'], name=op.f('fk_fee_schedule_appointment_type_id_appointment_type')),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_fee_schedule_practice_id_practice')),
    sa.ForeignKeyConstraint(['updated_by_staff_id'], ['staff_user.id'], name=op.f('fk_fee_schedule_updated_by_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_schedule')),
    sa.UniqueConstraint('practice_id', 'appointment_type_id', name=op.f('uq_fee_schedule_practice_id_appointment_type_id'))
    )
    op.create_table('household_guarantor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('guarantor_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['guarantor_id'], ['patient.id'], name=op.f('fk_household_guarantor_guarantor_id_patient')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_household_guarantor_household_id_household')),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_household_guarantor_practice_id_practice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_guarantor')),
    sa.UniqueConstraint('practice_id', 'household_id', name=op.f('uq_household_guarantor_practice_id_household_id'))
    )
    op.create_table('payment_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_payment_plan_patient_id_patient')),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_payment_plan_practice_id_practice')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_payment_plan_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_plan'))
    )
    with op.batch_alter_table('payment_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_plan_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_plan_practice_id'), ['practice_id'], unique=False)

    op.create_table('payment_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('guarantor_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_session_id', sa.String(length=255), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('resent_as_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_payment_request_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['guarantor_id'], ['patient.id'], name=op.f('fk_payment_request_guarantor_id_patient')),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_payment_request_message_id_message')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_payment_request_patient_id_patient')),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_payment_request_practice_id_practice')),
    sa.ForeignKeyConstraint(['resent_as_id'], ['payment_request.id'], name=op.f('fk_payment_request_resent_as_id_payment_request')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_payment_request_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_request'))
    )
    with op.batch_alter_table('payment_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_request_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_request_practice_id'), ['practice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_request_provider_session_id'), ['provider_session_id'], unique=False)

    op.create_table('ledger_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('guarantor_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('description', sa.String(length=120), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('payment_request_id', sa.Integer(), nullable=True),
    sa.Column('refund_of_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('provider_reference', sa.String(length=255), nullable=True),
    sa.Column('source_key', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_ledger_entry_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['guarantor_id'], ['patient.id'], name=op.f('fk_ledger_entry_guarantor_id_patient')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_ledger_entry_patient_id_patient')),
    sa.ForeignKeyConstraint(['payment_request_id'], ['payment_request.id'], name=op.f('fk_ledger_entry_payment_request_id_payment_request')),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_ledger_entry_practice_id_practice')),
    sa.ForeignKeyConstraint(['refund_of_id'], ['ledger_entry.id'], name=op.f('fk_ledger_entry_refund_of_id_ledger_entry')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_ledger_entry_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry')),
    sa.UniqueConstraint('practice_id', 'source_key', name=op.f('uq_ledger_entry_practice_id_source_key'))
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entry_account', ['practice_id', 'guarantor_id', 'posted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entry_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entry_provider_reference'), ['provider_reference'], unique=False)

    op.create_table('plan_installment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('payment_request_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['payment_request_id'], ['payment_request.id'], name=op.f('fk_plan_installment_payment_request_id_payment_request')),
    sa.ForeignKeyConstraint(['plan_id'], ['payment_plan.id'], name=op.f('fk_plan_installment_plan_id_payment_plan')),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_plan_installment_practice_id_practice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_installment')),
    sa.UniqueConstraint('plan_id', 'number', name=op.f('uq_plan_installment_plan_id_number'))
    )
    with op.batch_alter_table('plan_installment', schema=None) as batch_op:
        batch_op.create_index('ix_plan_installment_due', ['practice_id', 'due_on'], unique=False)



def downgrade():
    with op.batch_alter_table('plan_installment', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_installment_due')

    op.drop_table('plan_installment')
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entry_provider_reference'))
        batch_op.drop_index(batch_op.f('ix_ledger_entry_patient_id'))
        batch_op.drop_index('ix_ledger_entry_account')

    op.drop_table('ledger_entry')
    with op.batch_alter_table('payment_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_request_provider_session_id'))
        batch_op.drop_index(batch_op.f('ix_payment_request_practice_id'))
        batch_op.drop_index(batch_op.f('ix_payment_request_patient_id'))

    op.drop_table('payment_request')
    with op.batch_alter_table('payment_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_plan_practice_id'))
        batch_op.drop_index(batch_op.f('ix_payment_plan_patient_id'))

    op.drop_table('payment_plan')
    op.drop_table('household_guarantor')
    op.drop_table('fee_schedule')
