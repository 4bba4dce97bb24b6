"""staff invitations: an admin invites a staff member by email and role

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staff_invitation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('practice_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('token_id', sa.String(length=32), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('invited_by_id', sa.Integer(), nullable=True),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['invited_by_id'], ['staff_user.id'],
                                name=op.f('fk_staff_invitation_invited_by_id_staff_user')),
        sa.ForeignKeyConstraint(['practice_id'], ['practice.id'],
                                name=op.f('fk_staff_invitation_practice_id_practice')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_invitation')),
    )
    with op.batch_alter_table('staff_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_invitation_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_invitation_practice_id'), ['practice_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('staff_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_invitation_practice_id'))
        batch_op.drop_index(batch_op.f('ix_staff_invitation_email'))
    op.drop_table('staff_invitation')
