"""Two practices with look-alike data, for the practice isolation tests.

Both hold the same patient (name, birth date, phone, email, external id), provider, location
and appointment type names, an appointment, a message, hours, time off, a waitlist entry, a
questionnaire and a response, audit events, two staff accounts and an API token. Practice A
also has rows whose non-PHI text carries ``MARK`` (an extra patient's external id, a location,
a provider, a type, staff names, a message, a time-off label, audit object ids), so a page
showing any of it shows A's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta

from flask import Flask
from sqlalchemy import select

from app.billing import accounts
from app.billing.models import EntryKind, PaymentPlan, PaymentRequest
from app.core.clock import utcnow
from app.core.tenancy import PracticeScoped, across_practices, acting_for
from app.extensions import db
from app.fhir import auth
from app.intake import services as intake
from app.messaging import conversations
from app.messaging.models import MessageMedia
from app.practice.models import Practice
from app.scheduling import calendars
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import Schedule
from app.scheduling.waitlist import entries as waitlist_entries
from app.security import audit, invitations
from app.security.models import StaffInvitation, StaffUser
from tests import factories

MARK = "ALPHAMARK"
PHONE = "+13125550147"
A_NUMBER = "+13125550111"
B_NUMBER = "+13125550122"
INTAKE_URL = "https://forms.example/Questionnaire/intake"

@dataclass
class Seeded:
    practice: Practice
    token: str
    staff: dict[str, int] = field(default_factory=dict)  # role -> staff user id
    ids: dict[str, int] = field(default_factory=dict)  # URL argument name -> one row's id
    patient_ids: set[int] = field(default_factory=set)
    schedule_id: int = 0


def _questionnaire(title: str) -> dict:
    return {"resourceType": "Questionnaire", "url": INTAKE_URL, "status": "active",
            "title": title, "item": [{"linkId": "reason", "text": "Why?", "type": "string"}]}


def seed(name: str, number: str, mark: str) -> Seeded:
    """One practice's data: the look-alike rows, and with ``mark`` extra rows carrying it."""
    practice = factories.make_practice(name=name, sms_from_number=number)
    location = factories.make_location(practice, name="Main Office")
    provider = factories.make_provider(practice, locations=[location], family_name="Rivera")
    kind = factories.make_appointment_type(practice, name="Cleaning")
    kind.bookable_online = True
    kind.providers.append(provider)
    twin = factories.make_patient(practice, given_name="Maria", family_name="Garcia",
                                  date_of_birth=date(1980, 5, 5), mobile_phone=PHONE,
                                  email="maria@example.com", external_id="EXT-100")
    patients = [twin]
    if mark:
        location = factories.make_location(practice, name=f"{mark} Annex")
        provider = factories.make_provider(practice, locations=[location], family_name=mark)
        kind = factories.make_appointment_type(practice, name=f"{mark} Whitening")
        kind.bookable_online = True
        kind.providers.append(provider)
        patients.append(factories.make_patient(practice, family_name="Garcia",
                                               external_id=f"{mark}-7"))
    db.session.commit()
    seeded = Seeded(practice=practice, token=auth.create_token(
        name=f"{mark} integration", scopes="system/*.*", practice_id=practice.id).token)
    for role in ("admin", "front_desk"):
        user = factories.make_staff(practice, role=role)
        user.display_name = f"{mark} {role}".strip()
        seeded.staff[role] = user.id
    start = (utcnow() + timedelta(days=2)).replace(hour=15, minute=0, second=0, microsecond=0)
    with acting_for(practice.id):
        calendars.set_weekly_hours(
            practice_id=practice.id, provider_id=provider.id, location_id=location.id,
            intervals=[WeeklyInterval(day, time(8), time(18)) for day in range(7)])
        exception = calendars.add_time_off(
            practice_id=practice.id, provider_id=provider.id, label=f"{mark} Holiday".strip(),
            starts_at=start + timedelta(days=3), ends_at=start + timedelta(days=3, hours=2))
        intake.create_questionnaire(practice_id=practice.id,
                                   definition=_questionnaire(f"{mark} Intake".strip()))
        for patient in patients:
            appointment = factories.make_appointment(patient, provider, location,
                                                     start_at=start, appointment_type=kind)
            start += timedelta(hours=1)
            message = factories.make_message(patient, body=f"{mark} See you soon".strip())
            entry = waitlist_entries.join(practice_id=practice.id, patient_id=patient.id,
                                          appointment_type_id=kind.id, location_id=location.id)
            intake.create_response(practice_id=practice.id, source="staff", content={
                "resourceType": "QuestionnaireResponse", "status": "completed",
                "questionnaire": INTAKE_URL, "subject": {"reference": f"Patient/{patient.id}"},
                "item": [{"linkId": "reason", "answer": [{"valueString": "checkup"}]}]})
            audit.record("patient.view", patient_id=patient.id, object_type="note",
                         object_id=f"{mark}-audit-{patient.id}")
        conversation = conversations.get_or_create(  # the inbox's thread, with an MMS picture
            practice_id=practice.id, channel="sms", address=PHONE,
            patient_ids=[patient.id for patient in patients])
        picture = factories.make_message(patients[-1], direction="inbound",
                                         body=f"{mark} A picture".strip(),
                                         conversation_id=conversation.id)
        media = MessageMedia(practice_id=practice.id, message_id=picture.id, position=0,
                             content_type="image/png", content="iVBORw0KGgo=", size=8)
        db.session.add(media)
        db.session.commit()
        invitations.invite(practice_id=practice.id, role="front_desk",
                           email=f"new.{mark or 'b'}@invited.example".lower(),
                           invited_by_id=seeded.staff["admin"])
        invitation_id = db.session.execute(select(StaffInvitation.id).where(
            StaffInvitation.practice_id == practice.id)).scalar_one()
        accounts.post(patient=patients[-1], kind=EntryKind.CHARGE, amount_cents=5000,
                      description=f"{mark} Visit".strip())
        request = PaymentRequest(practice_id=practice.id, patient_id=patients[-1].id,
                                 guarantor_id=patients[-1].id, kind="balance",
                                 amount_cents=5000, channel="sms", provider="demo",
                                 expires_at=utcnow() + timedelta(days=7))
        db.session.add(request)
        plan = PaymentPlan(practice_id=practice.id, patient_id=patients[-1].id,
                           total_cents=5000, created_at=utcnow(), card_agreed_at=utcnow(),
                           card_agreement_source="seed")
        db.session.add(plan)
        db.session.commit()
    seeded.schedule_id = db.session.execute(select(Schedule.id).where(
        Schedule.practice_id == practice.id, Schedule.provider_id == provider.id)).scalar_one()
    seeded.patient_ids = {p.id for p in patients}
    seeded.ids = {
        "patient_id": patients[-1].id, "appointment_id": appointment.id,
        "provider_id": provider.id, "location_id": location.id,
        "appointment_type_id": kind.id, "message_id": message.id, "entry_id": entry.id,
        "exception_id": exception.id, "user_id": seeded.staff["admin"],
        "staff_id": seeded.staff["admin"], "invitation_id": invitation_id,
        "request_id": request.id, "conversation_id": conversation.id, "media_id": media.id,
        "plan_id": plan.id,
    }
    return seeded


def two_practices() -> tuple[Seeded, Seeded]:
    """Practice A (marked, the first: the one the public pages serve) and practice B."""
    return seed("Lakeside Family Dental", A_NUMBER, MARK), seed("Lakeside Family Dental",
                                                               B_NUMBER, "")


def sign_in(app: Flask, user_id: int):  # noqa: ANN202
    client = app.test_client()
    email = db.session.execute(select(StaffUser.email).where(
        StaffUser.id == user_id)).scalar_one()
    response = client.post("/sign-in", data={"email": email,
                                             "password": factories.STAFF_PASSWORD})
    assert response.status_code == 302
    return client


def snapshot(practice_id: int) -> dict[str, list[tuple]]:
    """Every row of the practice, in every table holding practice data."""
    rows = {}
    with across_practices():
        for mapper in db.Model.registry.mappers:
            model = mapper.class_
            if issubclass(model, PracticeScoped):
                table = model.__table__
                rows[table.name] = sorted(db.session.execute(
                    select(table).where(table.c.practice_id == practice_id)).all(), key=str)
    return rows
