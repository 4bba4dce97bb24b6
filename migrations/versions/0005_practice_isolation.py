"""practice isolation: a practice column on every table holding practice data

WorkingHours and ScheduleException take their provider's practice, WaitlistOffer its
entry's, AuditEvent its actor's (staff user or API token) or else its patient's (NULL when
neither: deployment-wide events), WebhookEvent the oldest practice (before this revision a
deployment served one practice).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_BACKFILL = {
    'working_hours': "SELECT provider.practice_id FROM provider "
                     "WHERE provider.id = working_hours.provider_id",
    'schedule_exception': "SELECT provider.practice_id FROM provider "
                          "WHERE provider.id = schedule_exception.provider_id",
    'waitlist_offer': "SELECT waitlist_entry.practice_id FROM waitlist_entry "
                      "WHERE waitlist_entry.id = waitlist_offer.entry_id",
    'webhook_event': "SELECT min(practice.id) FROM practice",
}
_AUDIT_BACKFILL = (
    "UPDATE audit_event SET practice_id = COALESCE("
    "(SELECT api_token.practice_id FROM api_token WHERE audit_event.actor_role = 'api' "
    "AND api_token.id = audit_event.actor_id), "
    "(SELECT staff_user.practice_id FROM staff_user WHERE audit_event.actor_role <> 'api' "
    "AND staff_user.id = audit_event.actor_id), "
    "(SELECT patient.practice_id FROM patient WHERE patient.id = audit_event.patient_id))")


def upgrade():
    for table in _BACKFILL:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('practice_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('practice_id', sa.Integer(), nullable=True))

    for table, parent in _BACKFILL.items():
        op.execute(f"UPDATE {table} SET practice_id = ({parent})")
    # Nothing to route a processed-event record to when no practice exists: it is dropped.
    op.execute("DELETE FROM webhook_event WHERE practice_id IS NULL")
    op.execute(_AUDIT_BACKFILL)

    for table in _BACKFILL:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('practice_id', existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_practice_id_practice'),
                                        'practice', ['practice_id'], ['id'])
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_practice_id'), ['practice_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_audit_event_practice_id_practice'),
                                    'practice', ['practice_id'], ['id'])


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_event_practice_id_practice'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audit_event_practice_id'))
        batch_op.drop_column('practice_id')
    for table in reversed(list(_BACKFILL)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_practice_id_practice'),
                                     type_='foreignkey')
            batch_op.drop_column('practice_id')
