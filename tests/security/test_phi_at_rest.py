"""Done when: no patient identifier is stored in plaintext, on SQLite's file or PostgreSQL's
tables. The practice's own details are not PHI and are stored plainly, which proves the scan
would see plaintext if there were any."""

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from app.core.clock import utcnow
from app.extensions import db
from app.messaging.models import Conversation, Message, conversation_patient
from app.patients.models import Household, Patient
from app.scheduling.models import Appointment
from app.security import blind_index
from tests import factories
from tests.conftest import on_postgres

MOBILE = "+13125557788"
HOME = "+17735550199"
PHI = {
    "given name": "Zephyrine",
    "family name": "Quillfeather",
    "mobile E.164": MOBILE,
    "mobile digits": "3125557788",
    "mobile national": "(312) 555-7788",
    "mobile dashed": "312-555-7788",
    "home E.164": HOME,
    "home digits": "7735550199",
    "email": "zephyrine.q@example.org",
    "date of birth": "1971-03-14",
    "external id": "MRN-99417",
    "address": "742 Evergreen Terrace",
    "city": "Wimbledonshire",
    "postal code": "60614-4321",
    "appointment note": "Xylophorbia follow-up",
    "cancel reason": "Kestrelmoor flooding",
    "message body": "my Ravenscroft crown hurts",
}


def seed_patient_everywhere() -> int:
    practice = factories.make_practice()
    household = Household(practice_id=practice.id, phone=MOBILE,
                          phone_index=blind_index.phone_index(MOBILE))
    db.session.add(household)
    db.session.commit()
    patient = factories.make_patient(
        practice, given_name="Zephyrine", family_name="Quillfeather",
        date_of_birth=date(1971, 3, 14), mobile_phone=MOBILE, home_phone=HOME,
        email="zephyrine.q@example.org", external_id="MRN-99417",
        address_line="742 Evergreen Terrace", city="Wimbledonshire", state="IL",
        postal_code="60614-4321", household_id=household.id)
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    factories.make_appointment(patient, provider, location)
    appointment = db.session.execute(select(Appointment)).scalar_one()
    appointment.note = "Xylophorbia follow-up"
    appointment.cancel_reason = "Kestrelmoor flooding"
    conversation = Conversation(practice_id=practice.id, channel="sms", contact=MOBILE,
                                contact_index=blind_index.phone_index(MOBILE),
                                last_message_at=utcnow() - timedelta(minutes=5))
    db.session.add(conversation)
    db.session.flush()
    db.session.execute(conversation_patient.insert().values(conversation_id=conversation.id,
                                                            patient_id=patient.id))
    db.session.add(Message(practice_id=practice.id, conversation_id=conversation.id,
                           patient_id=patient.id,
                           direction="inbound", channel="sms", body="my Ravenscroft crown hurts"))
    db.session.commit()
    return patient.id


def stored_bytes(database_url: str) -> bytes:
    """Everything the database holds, as bytes: the SQLite files, or every PostgreSQL row."""
    if on_postgres():
        tables = db.session.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
        dump = [row for table in tables for row in db.session.execute(
            text(f'SELECT row_to_json(t)::text FROM "{table}" t')).scalars()]  # noqa: S608
        db.session.rollback()
        return "\n".join(dump).encode()
    db.session.remove()
    db.engine.dispose()  # every connection closed: nothing left in a journal or cache
    path = Path(make_url(database_url).database)
    files = [path, *path.parent.glob(path.name + "-*")]  # -wal / -journal, if any
    return b"".join(f.read_bytes() for f in files if f.exists())


def test_no_patient_identifier_is_stored_in_plaintext(app, database_url):
    patient_id = seed_patient_everywhere()
    db.session.expire_all()
    patient = db.session.get(Patient, patient_id)
    assert (patient.full_name, patient.date_of_birth) == ("Zephyrine Quillfeather",
                                                          date(1971, 3, 14))
    assert db.session.execute(select(Message.body)).scalar_one() == "my Ravenscroft crown hurts"

    stored = stored_bytes(database_url).lower()

    assert b"lakeside family dental" in stored  # the scan sees plaintext that is there
    found = [label for label, value in PHI.items() if value.lower().encode() in stored]
    assert found == []
