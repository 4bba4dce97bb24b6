"""job ticks: each periodic job's run per tick, so several schedulers run a tick once

Revision ID: 0014
Revises: 0007
Create Date: 2026-12-03 16:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job_tick',
        sa.Column('job', sa.String(length=64), nullable=False),
        sa.Column('tick_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('job', 'tick_at', name=op.f('pk_job_tick')),
    )


def downgrade():
    op.drop_table('job_tick')
