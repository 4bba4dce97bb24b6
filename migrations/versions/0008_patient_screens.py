"""patient screens: name-prefix search indexes, merged and needs-review patients

Also the pairs of records staff said are different people.

The name tokens of patients already stored are computed by `flask patients reindex` (the
key that makes them lives with the application, not in the migration).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 15:28:33

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('patient_name_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('token_index', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_patient_name_token_patient_id_patient'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_patient_name_token_practice_id_practice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_name_token'))
    )
    with op.batch_alter_table('patient_name_token', schema=None) as batch_op:
        batch_op.create_index('ix_patient_name_token_lookup', ['practice_id', 'token_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_name_token_patient_id'), ['patient_id'], unique=False)

    op.create_table('patient_pair_dismissal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('first_id', sa.Integer(), nullable=False),
    sa.Column('second_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['first_id'], ['patient.id'], name=op.f('fk_patient_pair_dismissal_first_id_patient')),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_patient_pair_dismissal_practice_id_practice')),
    sa.ForeignKeyConstraint(['second_id'], ['patient.id'], name=op.f('fk_patient_pair_dismissal_second_id_patient')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_patient_pair_dismissal_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_pair_dismissal')),
    sa.UniqueConstraint('practice_id', 'first_id', 'second_id', name=op.f('uq_patient_pair_dismissal_practice_id_first_id_second_id'))
    )
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('merged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('review_match_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_patient_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_review_match_id'), ['review_match_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_patient_merged_into_id_patient'), 'patient', ['merged_into_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_patient_review_match_id_patient'), 'patient', ['review_match_id'], ['id'])



def downgrade():
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_patient_review_match_id_patient'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_patient_merged_into_id_patient'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_patient_review_match_id'))
        batch_op.drop_index(batch_op.f('ix_patient_merged_into_id'))
        batch_op.drop_column('review_match_id')
        batch_op.drop_column('merged_at')
        batch_op.drop_column('merged_into_id')

    op.drop_table('patient_pair_dismissal')
    with op.batch_alter_table('patient_name_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_name_token_patient_id'))
        batch_op.drop_index('ix_patient_name_token_lookup')

    op.drop_table('patient_name_token')
