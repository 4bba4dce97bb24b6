"""The demo practice, seeded once for this module (``flask demo seed --if-empty`` on an empty
database, as ``make run`` does); every test reads it, and the re-runs must change nothing."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from sqlalchemy import func, select

from app import create_app
from app.core import clock
from app.core.clock import utcnow
from app.core.phones import to_e164
from app.extensions import db as _db
from app.intake.models import Questionnaire, QuestionnaireResponse
from app.intake.services import response_content
from app.messaging.models import Conversation, Direction, Message
from app.patients.models import Household, Patient
from app.practice.models import Location, Practice, Provider
from app.scheduling.models import Appointment, AppointmentType, WorkingHours
from app.security.blind_index import phone_index
from app.security.models import AuditEvent, StaffUser
from tests.conftest import BASE_CONFIG, TEST_NOW

DEMO_EMAILS = ["admin@demo.frontdesk.test", "manager@demo.frontdesk.test",
               "frontdesk@demo.frontdesk.test", "billing@demo.frontdesk.test",
               "marketing@demo.frontdesk.test"]
DEMO_PASSWORD = "frontdesk-demo-2026"


@pytest.fixture(scope="module")
def database_url(module_database_url: str) -> str:
    """One database for the whole module (tests/conftest.py)."""
    return module_database_url


@pytest.fixture(scope="module", autouse=True)
def seed_output(database_url: str) -> Result:
    app = create_app({**BASE_CONFIG, "DATABASE_URL": database_url})
    with clock.frozen_at(TEST_NOW), app.app_context():
        result = app.test_cli_runner().invoke(args=["demo", "seed", "--if-empty"])
        _db.session.remove()
        _db.engine.dispose()
    return result


def _count(model: type) -> int:
    return _db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _counts() -> dict[str, int]:
    return {model.__name__: _count(model) for model in (
        Practice, Location, Provider, AppointmentType, Patient, Household, Appointment,
        Conversation, Message, StaffUser)}


def _npi_is_valid(npi: str) -> bool:
    """The NPI check digit: Luhn over the number prefixed with 80840."""
    total = 0
    for position, char in enumerate(reversed("80840" + npi)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return len(npi) == 10 and total % 10 == 0


def test_the_seed_reports_what_it_built(seed_output: Result) -> None:
    assert seed_output.exit_code == 0, seed_output.output
    assert "Seeded Lakeside Family Dental" in seed_output.output
    assert "500 patients (40 households sharing a phone)" in seed_output.output
    assert "(8 unread)" in seed_output.output
    assert "12 intake forms answered" in seed_output.output


def test_practice_has_two_locations_in_different_zones_and_six_providers(db) -> None:
    practice = db.session.execute(select(Practice)).scalar_one()
    assert (practice.name, practice.timezone) == ("Lakeside Family Dental", "America/Chicago")
    assert practice.email and practice.website and to_e164(practice.phone) == practice.phone
    locations = practice.locations
    assert len(locations) == 2
    assert {loc.timezone for loc in locations} == {"America/Chicago", "America/Denver"}
    assert {loc.state for loc in locations} == {"IL", "CO"}
    assert all(to_e164(loc.phone) == loc.phone for loc in locations)

    providers = practice.providers
    assert len(providers) == 6
    assert all(provider.locations for provider in providers)
    assert any(len(provider.locations) == 2 for provider in providers)
    for provider in providers:
        if provider.credentials in {"DDS", "DMD"}:
            assert provider.display_name.startswith("Dr. ")
        else:
            assert provider.credentials == "RDH" and provider.prefix is None
        assert provider.npi is None or _npi_is_valid(provider.npi), provider.npi
    assert _npi_is_valid("1234567893") and not _npi_is_valid("1234567890")


def test_appointment_types_are_plain_visit_names(db) -> None:
    types = {t.name: t for t in db.session.execute(select(AppointmentType)).scalars()}
    assert {name: t.duration_minutes for name, t in types.items()} == {
        "Cleaning": 60, "Exam": 30, "Filling": 60, "New patient visit": 90,
        "Emergency visit": 30}
    assert types["New patient visit"].for_new_patients
    assert not types["Emergency visit"].bookable_online
    assert all(t.bookable_online for name, t in types.items() if name != "Emergency visit")
    assert types["Cleaning"].name_in("es") == "Limpieza"  # Spanish pages name them in Spanish


def test_patients_mix_languages_families_and_contact_points(db) -> None:
    patients = db.session.execute(select(Patient)).scalars().all()
    assert len(patients) == 500
    spanish = [p for p in patients if p.preferred_language == "es"]
    assert 100 <= len(spanish) <= 200
    assert any(set(p.family_name) & set("áéíóúñ") for p in spanish)

    by_household = defaultdict(list)
    for patient in patients:
        if patient.household_id is not None:
            by_household[patient.household_id].append(patient)
    assert len(by_household) >= 30
    for members in by_household.values():
        assert 2 <= len(members) <= 4
        assert len({m.mobile_phone for m in members}) == 1 and members[0].mobile_phone

    without_mobile = [p for p in patients if not p.mobile_phone]
    assert 25 <= len(without_mobile) <= 80
    assert all(p.email or p.home_phone for p in without_mobile)

    today = utcnow().date()
    ages = [(today - p.date_of_birth).days // 365 for p in patients]
    assert min(ages) >= 2 and max(ages) <= 90 and max(ages) - min(ages) > 60
    assert {p.state for p in patients} == {"IL", "CO"}
    external_ids = {p.external_id for p in patients}
    assert len(external_ids) == 500 and "LEG-000123" in external_ids


def test_appointments_fill_working_hours_without_overlaps(db) -> None:
    appointments = db.session.execute(select(Appointment)).scalars().all()
    zones = {loc.id: ZoneInfo(loc.timezone) for loc in db.session.execute(
        select(Location)).scalars()}
    assert len(appointments) >= 1500
    by_provider = defaultdict(list)
    for appointment in appointments:
        start = appointment.start_at.astimezone(zones[appointment.location_id])
        end = appointment.end_at.astimezone(zones[appointment.location_id])
        assert start.weekday() < 5
        assert time(8) <= start.time() and end.time() <= time(17) and start.date() == end.date()
        by_provider[appointment.provider_id].append((appointment.start_at, appointment.end_at))
    for intervals in by_provider.values():
        intervals.sort()
        for (_, earlier_end), (later_start, _) in zip(intervals, intervals[1:], strict=False):
            assert earlier_end <= later_start

    now = utcnow()
    past = [a for a in appointments if a.start_at < now]
    future = [a for a in appointments if a.start_at >= now]
    assert past and future
    past_status = defaultdict(int)
    for appointment in past:
        past_status[appointment.status] += 1
    assert set(past_status) == {"fulfilled", "noshow", "cancelled"}
    assert past_status["fulfilled"] > 0.7 * len(past)
    assert 0.03 * len(past) < past_status["noshow"] < 0.15 * len(past)
    assert {a.status for a in future} == {"booked"}
    assert {a.patient_status for a in future} == {"accepted", "needs-action"}


def test_the_seed_obeys_its_own_calendar_rules(db) -> None:
    """Every demo visit is one the calendar settings allow: the provider offers the type and
    works at the location, the visit lies inside their hours there that weekday, a visit for
    new patients is the patient's first; and no child has a mobile of their own (only the
    household's, shared with an adult)."""
    types = {t.id: t for t in db.session.execute(select(AppointmentType)).scalars()}
    offers = {(p.id, t.id) for t in types.values() for p in t.providers}
    works_at = {(p.id, loc.id) for p in db.session.execute(select(Provider)).scalars()
                for loc in p.locations}
    hours = defaultdict(list)
    for row in db.session.execute(select(WorkingHours)).scalars():
        hours[(row.provider_id, row.location_id, row.weekday)].append(
            (row.start_time, row.end_time))
    zones = {loc.id: ZoneInfo(loc.timezone) for loc in db.session.execute(
        select(Location)).scalars()}
    first_visit: dict[int, datetime] = {}
    appointments = db.session.execute(select(Appointment).order_by(Appointment.start_at)
                                      ).scalars().all()
    for a in appointments:
        first_visit.setdefault(a.patient_id, a.start_at)
        kind = types[a.appointment_type_id]
        where = f"appointment {a.id} ({kind.name})"
        assert (a.provider_id, kind.id) in offers, f"{where}: type not offered by provider"
        assert (a.provider_id, a.location_id) in works_at, f"{where}: provider not there"
        start = a.start_at.astimezone(zones[a.location_id])
        end = a.end_at.astimezone(zones[a.location_id])
        assert any(begins <= start.time() and end.time() <= ends for begins, ends in
                   hours[(a.provider_id, a.location_id, start.weekday())]), \
            f"{where}: outside the provider's hours"
        if kind.for_new_patients:
            assert first_visit[a.patient_id] == a.start_at, f"{where}: not the first visit"

    today = utcnow().date()
    patients = db.session.execute(select(Patient)).scalars().all()
    adults_by_mobile = defaultdict(int)
    for p in patients:
        if p.mobile_phone and (today - p.date_of_birth).days >= 18 * 365:
            adults_by_mobile[p.mobile_phone] += 1
    for p in patients:
        if (today - p.date_of_birth).days < 18 * 365 and p.mobile_phone:
            assert p.household_id is not None and adults_by_mobile[p.mobile_phone], \
                f"patient {p.id}, a child, has a mobile of their own"


def test_conversations_hold_short_threads_some_unread(db) -> None:
    conversations = db.session.execute(select(Conversation)).scalars().all()
    assert 35 <= len(conversations) <= 45
    unread = [c for c in conversations if c.unread]
    assert 5 <= len(unread) <= 10
    now = utcnow()
    for conversation in conversations:
        messages = conversation.messages
        assert messages and conversation.patients
        assert conversation.last_message_at == messages[-1].created_at <= now
        assert conversation.contact_index == phone_index(conversation.contact)
        assert {p.mobile_phone for p in conversation.patients} == {conversation.contact}
        if conversation.unread:
            assert messages[-1].direction == Direction.INBOUND
    assert any(len(c.patients) > 1 for c in conversations)
    bodies = [m.body for c in conversations for m in c.messages]
    assert any("Lakeside Family Dental: reminder" in body for body in bodies)
    assert any("le recordamos" in body for body in bodies)
    assert "C" in bodies


def test_some_patients_answered_the_intake_form(db) -> None:
    questionnaire = db.session.execute(select(Questionnaire)).scalar_one()
    assert (questionnaire.title, questionnaire.status) == ("New patient intake", "active")
    responses = db.session.execute(select(QuestionnaireResponse)).scalars().all()
    assert len(responses) == 12
    assert {r.questionnaire_id for r in responses} == {questionnaire.id}
    assert all(r.patient_id and r.status == "completed" for r in responses)
    answers = response_content(responses[0])
    assert answers["subject"] == {"reference": f"Patient/{responses[0].patient_id}"}


def test_the_practice_has_fees_and_balances_of_every_age(db) -> None:
    from app.billing import ledger
    from app.billing.models import FeeSchedule, LedgerEntry

    assert db.session.execute(select(func.count()).select_from(FeeSchedule)).scalar_one() == 5
    entries = db.session.execute(select(LedgerEntry)).scalars().all()
    assert {e.kind for e in entries} == {"charge", "insurance_payment", "patient_payment"}
    by_account: dict[int, list[ledger.Line]] = defaultdict(list)
    for e in entries:
        by_account[e.guarantor_id].append(ledger.Line(e.amount_cents, e.posted_at.date()))
    owing = [ledger.aging(lines, today=utcnow().date()) for lines in by_account.values()]
    assert any(a.current > 0 for a in owing) and any(a.days_31_60 > 0 for a in owing)


def test_demo_staff_sign_in_with_the_demo_password(client) -> None:
    for email in DEMO_EMAILS:
        response = client.post("/sign-in", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        assert "Lakeside Family Dental" in client.get("/").get_data(as_text=True)
        client.post("/sign-out")


def test_seeding_again_changes_nothing(runner, db) -> None:
    before = _counts()
    again = runner.invoke(args=["demo", "seed"])
    assert again.exit_code == 0
    assert "already exists; nothing changed" in again.output
    skipped = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert skipped.exit_code == 0 and "not needed" in skipped.output
    assert _counts() == before


def test_the_seed_leaves_one_audit_event(db) -> None:
    actions = db.session.execute(select(AuditEvent.action).where(
        AuditEvent.action.in_(["demo.seed", "patient.create"]))).scalars().all()
    assert actions == ["demo.seed"]


def test_logins_lists_the_five_demo_sign_ins(runner) -> None:
    result = runner.invoke(args=["demo", "logins"])
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if "@demo.frontdesk.test" in line]
    assert [line.split()[0] for line in lines] == DEMO_EMAILS
    assert all(DEMO_PASSWORD in line for line in lines)
    assert "Front desk" in result.output
