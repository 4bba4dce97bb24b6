"""billing: saved cards for payment plans, plan cancellation, provider refunds, billing push

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-03 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payment_plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_by_staff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('card_agreed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('card_agreement_source', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('card_withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('card_withdrawn_by_staff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('card_provider', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('card_customer_ref', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('card_method_ref', sa.String(length=255), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payment_plan_cancelled_by_staff_id_staff_user'),
                                    'staff_user', ['cancelled_by_staff_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_payment_plan_card_withdrawn_by_staff_id_staff_user'),
                                    'staff_user', ['card_withdrawn_by_staff_id'], ['id'])

    op.create_table('provider_refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('payment_entry_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_refund_id', sa.String(length=255), nullable=True),
    sa.Column('failure', sa.String(length=120), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entry.id'], name=op.f('fk_provider_refund_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_provider_refund_patient_id_patient')),
    sa.ForeignKeyConstraint(['payment_entry_id'], ['ledger_entry.id'], name=op.f('fk_provider_refund_payment_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_provider_refund_practice_id_practice')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_provider_refund_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_refund'))
    )
    with op.batch_alter_table('provider_refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_refund_practice_id'), ['practice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_provider_refund_payment_entry_id'), ['payment_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_provider_refund_provider_refund_id'), ['provider_refund_id'], unique=False)

    op.create_table('billing_push',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entry.id'], name=op.f('fk_billing_push_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_billing_push_practice_id_practice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_push')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_billing_push_entry_id'))
    )
    with op.batch_alter_table('billing_push', schema=None) as batch_op:
        batch_op.create_index('ix_billing_push_due', ['practice_id', 'pushed_at', 'next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('billing_push', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_push_due')
    op.drop_table('billing_push')
    with op.batch_alter_table('provider_refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provider_refund_provider_refund_id'))
        batch_op.drop_index(batch_op.f('ix_provider_refund_payment_entry_id'))
        batch_op.drop_index(batch_op.f('ix_provider_refund_practice_id'))
    op.drop_table('provider_refund')
    with op.batch_alter_table('payment_plan', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payment_plan_card_withdrawn_by_staff_id_staff_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_payment_plan_cancelled_by_staff_id_staff_user'), type_='foreignkey')
        for column in ('card_method_ref', 'card_customer_ref', 'card_provider',
                       'card_withdrawn_by_staff_id', 'card_withdrawn_at', 'card_agreement_source',
                       'card_agreed_at', 'cancel_reason', 'cancelled_by_staff_id'):
            batch_op.drop_column(column)
