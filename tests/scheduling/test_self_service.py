"""Patient self-scheduling: one-time codes, identity matching, and the public pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import request, request_started
from icalendar import Calendar
from sqlalchemy import func, select

from app.core.clock import utcnow
from app.extensions import db
from app.messaging import dispatcher
from app.messaging.cli import build_providers
from app.messaging.models import Message
from app.patients.models import Patient
from app.practice.models import Location, Practice, Provider
from app.scheduling import booking, calendars, online, self_service, slots
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import Appointment, AppointmentType, OneTimeCode
from app.scheduling.self_service import Identity, SelfServiceError
from tests import factories

PHONE = "+13125550177"
WHO = Identity("Rosa", "Delgado", date(1975, 5, 17), PHONE)
FORM = {"given_name": "Rosa", "family_name": "Delgado", "date_of_birth": "1975-05-17",
        "mobile_phone": "(312) 555-0177"}


@dataclass
class Office:
    practice: Practice
    location: Location
    provider: Provider
    kind: AppointmentType


def make_office(practice: Practice) -> Office:
    """One provider working every day 09:00-17:00 at a Chicago location; the type is for new
    patients (the people these tests book are new, unless a test says otherwise)."""
    location = factories.make_location(practice, name="Lakeside")
    kind = factories.make_appointment_type(practice, name="Cleaning", duration_minutes=60)
    kind.for_new_patients = True
    provider = factories.make_provider(practice, locations=[location], family_name="Rivera")
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[kind.id])
    calendars.set_weekly_hours(
        practice_id=practice.id, provider_id=provider.id, location_id=location.id,
        intervals=[WeeklyInterval(day, time(9), time(17)) for day in range(7)])
    return Office(practice, location, provider, kind)


def make_seen_patient(office: Office) -> Patient:
    """Rosa Delgado (``WHO``), with a visit last month: no longer a new patient."""
    patient = factories.make_patient(office.practice, given_name="Rosa", family_name="Delgado",
                                     date_of_birth=date(1975, 5, 17), mobile_phone=PHONE)
    factories.make_appointment(patient, office.provider, office.location,
                               start_at=utcnow().replace(microsecond=0) - timedelta(days=30),
                               appointment_type=office.kind, status="fulfilled")
    return patient


@pytest.fixture
def office(practice: Practice) -> Office:
    return make_office(practice)


def sent_code() -> str:
    """Send what is queued through the console provider and read the code it texted."""
    dispatcher.run_once(build_providers())
    body = db.session.execute(select(Message.body).where(Message.template == "booking_code")
                              .order_by(Message.id.desc()).limit(1)).scalar_one()
    return re.search(r"\b(\d{6})\b", body).group(1)


def first_slot(office: Office) -> slots.Slot:
    return online.open_slots(kind=office.kind, location=office.location,
                                   provider_id=None)[0]


# --- codes ----------------------------------------------------------------------------------

def test_the_code_is_texted_naming_the_practice_and_stored_only_as_a_hash(app, office):
    self_service.request_code(practice_id=office.practice.id, e164=PHONE, ip_address="1.2.3.4")
    code = sent_code()
    message = db.session.execute(select(Message)).scalar_one()
    assert message.body == (f"Your Lakeside Family Dental code is {code}. "
                            "It expires in 10 minutes.")
    assert message.address == PHONE and message.status == "sent"
    row = db.session.execute(select(OneTimeCode).where(OneTimeCode.purpose == "booking")
                             ).scalar_one()
    assert code not in row.code_hash and PHONE not in row.phone_index
    self_service.verify_code(practice_id=office.practice.id, e164=PHONE, code=code)


def test_wrong_codes_count_attempts_and_the_sixth_try_is_refused(app, office):
    self_service.request_code(practice_id=office.practice.id, e164=PHONE, ip_address="1.2.3.4")
    code = sent_code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(self_service.MAX_ATTEMPTS):
        with pytest.raises(SelfServiceError, match="not right"):
            self_service.verify_code(practice_id=office.practice.id, e164=PHONE, code=wrong)
    with pytest.raises(SelfServiceError, match="too many tries"):
        self_service.verify_code(practice_id=office.practice.id, e164=PHONE, code=code)


def test_a_code_expires_after_ten_minutes_and_works_only_once(app, office):
    now = utcnow()
    self_service.request_code(practice_id=office.practice.id, e164=PHONE, ip_address="1.2.3.4",
                              now=now)
    code = sent_code()
    with pytest.raises(SelfServiceError, match="expired"):
        self_service.verify_code(practice_id=office.practice.id, e164=PHONE, code=code,
                                 now=now + timedelta(minutes=10, seconds=1))
    self_service.verify_code(practice_id=office.practice.id, e164=PHONE, code=code,
                             now=now + timedelta(minutes=9))
    with pytest.raises(SelfServiceError, match="expired"):
        self_service.verify_code(practice_id=office.practice.id, e164=PHONE, code=code,
                                 now=now + timedelta(minutes=9))


def test_codes_are_rate_limited_per_phone_and_per_connection(app, office):
    now = utcnow()
    for _ in range(self_service.MAX_CODES_PER_PHONE):
        self_service.request_code(practice_id=office.practice.id, e164=PHONE,
                                  ip_address="1.2.3.4", now=now)
    with pytest.raises(SelfServiceError, match="too many codes for this number") as refused:
        self_service.request_code(practice_id=office.practice.id, e164=PHONE,
                                  ip_address="5.6.7.8", now=now)
    assert refused.value.field == "mobile_phone"
    self_service.request_code(practice_id=office.practice.id, e164=PHONE, ip_address="1.2.3.4",
                              now=now + self_service.RATE_WINDOW)  # the window has passed
    for n in range(self_service.MAX_CODES_PER_IP - 4):
        self_service.request_code(practice_id=office.practice.id, e164=f"+1312555020{n}",
                                  ip_address="1.2.3.4", now=now + timedelta(minutes=1))
    with pytest.raises(SelfServiceError, match="from this connection"):
        self_service.request_code(practice_id=office.practice.id, e164="+13125550299",
                                  ip_address="1.2.3.4", now=now + timedelta(minutes=1))


def test_a_lobby_tablet_texts_codes_to_a_morning_of_patients(app, office):
    """One address (a lobby tablet, a clinic's network) serves many patients: a dozen people
    in a quarter hour all get their codes (it was ten per address before)."""
    now = utcnow()
    for n in range(12):
        self_service.request_code(practice_id=office.practice.id, e164=f"+1312555040{n:02d}",
                                  ip_address="10.1.1.1", now=now + timedelta(minutes=n))
    assert self_service.MAX_CODES_PER_IP > 12


def test_a_flood_from_many_addresses_meets_the_practice_wide_limit(app, office, monkeypatch):
    monkeypatch.setattr(self_service, "MAX_CODES_PER_PRACTICE", 5)
    now = utcnow()
    for n in range(5):
        self_service.request_code(practice_id=office.practice.id, e164=f"+1312555050{n}",
                                  ip_address=f"10.2.0.{n}", now=now)
    with pytest.raises(SelfServiceError, match="too many codes asked for right now"):
        self_service.request_code(practice_id=office.practice.id, e164="+13125550599",
                                  ip_address="10.2.0.99", now=now)
    self_service.request_code(practice_id=office.practice.id, e164="+13125550599",
                              ip_address="10.2.0.99", now=now + self_service.RATE_WINDOW)


# --- identity ---------------------------------------------------------------------------------

def test_an_existing_patient_is_matched_by_name_birth_date_and_mobile(app, office):
    patient = factories.make_patient(office.practice, given_name="Rosa", family_name="Delgado",
                                     date_of_birth=date(1975, 5, 17), mobile_phone=PHONE)
    office.kind.for_new_patients = False
    db.session.commit()
    appointment = self_service.book_for(practice_id=office.practice.id,
                                        identity=Identity("rosa", "DELGADO", WHO.date_of_birth,
                                                          PHONE), slot=first_slot(office))
    assert appointment.patient_id == patient.id and appointment.source == "patient"
    assert db.session.execute(select(func.count(Patient.id))).scalar_one() == 1


def test_someone_new_becomes_a_new_patient_even_when_name_and_birth_date_match(app, office):
    other = factories.make_patient(office.practice, given_name="Rosa", family_name="Delgado",
                                   date_of_birth=date(1975, 5, 17), mobile_phone="+13125550999")
    appointment = self_service.book_for(practice_id=office.practice.id, identity=WHO,
                                        slot=first_slot(office), language="es")
    created = appointment.patient
    assert created.id != other.id
    assert (created.given_name, created.mobile_phone, created.preferred_language) == (
        "Rosa", PHONE, "es")


def test_a_taken_slot_is_refused_with_the_next_open_times(app, office):
    slot = first_slot(office)
    booking.book(patient_id=factories.make_patient(office.practice).id, slot=slot,
                 source="patient")
    with pytest.raises(booking.SlotTaken) as taken:
        self_service.book_for(practice_id=office.practice.id, identity=WHO, slot=slot)
    assert taken.value.next_slots and slot not in taken.value.next_slots


def test_a_new_person_cannot_book_a_visit_for_existing_patients(app, client, office):
    office.kind.for_new_patients = False  # "Existing patients" on the settings screen
    db.session.commit()
    with pytest.raises(self_service.ExistingPatientsOnly):
        self_service.book_for(practice_id=office.practice.id, identity=WHO,
                              slot=first_slot(office))
    walk_to_identity(client, office)
    client.post("/book/identity", data=FORM)
    refused = client.post("/book/verify", data={"code": sent_code()})
    assert refused.status_code == 409
    assert "This visit is for our existing patients" in refused.get_data(as_text=True)
    assert db.session.execute(select(func.count(Appointment.id))).scalar_one() == 0
    assert db.session.execute(select(func.count(Patient.id))).scalar_one() == 0


def test_an_existing_patient_cannot_book_a_new_patient_visit(app, office):
    make_seen_patient(office)
    db.session.commit()
    with pytest.raises(self_service.NewPatientsOnly):
        self_service.book_for(practice_id=office.practice.id, identity=WHO,
                              slot=first_slot(office))
    assert db.session.execute(select(func.count(Appointment.id))).scalar_one() == 1
    # someone new may book it
    stranger = Identity("Ines", "Rojas", date(1990, 2, 3), "+13125550123")
    assert self_service.book_for(practice_id=office.practice.id, identity=stranger,
                                 slot=first_slot(office)).patient.given_name == "Ines"


def test_staff_only_types_are_not_offered(app, office):
    office.kind.bookable_online = False
    db.session.commit()
    assert online.bookable_types(practice_id=office.practice.id) == []


# --- pages ------------------------------------------------------------------------------------

def walk_to_identity(client, office: Office, *, lang: str = "en") -> slots.Slot:
    """Type → location → provider ("first available") → day → time, as the links go."""
    page = client.get(f"/book/?lang={lang}").get_data(as_text=True)
    assert "Cleaning" in page
    page = client.get(f"/book/location?type={office.kind.id}").get_data(as_text=True)
    assert "Lakeside" in page
    page = client.get(f"/book/provider?type={office.kind.id}&location={office.location.id}"
                      ).get_data(as_text=True)
    assert office.provider.display_name in page
    args = f"type={office.kind.id}&location={office.location.id}&provider=0"
    slot = first_slot(office)
    day = slot.start.astimezone(ZoneInfo(office.location.timezone)).date()
    assert day.isoformat() in client.get(f"/book/day?{args}").get_data(as_text=True)
    assert client.get(f"/book/time?{args}&day={day.isoformat()}").status_code == 200
    response = client.post(f"/book/time?type={office.kind.id}&location={office.location.id}",
                           data={"start": slot.start.isoformat(),
                                 "provider": slot.provider_id})
    assert response.status_code == 302 and response.location.endswith("/book/identity")
    return slot


def test_a_patient_books_online_and_no_url_carries_phi(app, client, office):
    urls: list[str] = []

    def remember(sender, **extra):
        urls.append(request.full_path)

    request_started.connect(remember, app)
    slot = walk_to_identity(client, office)
    response = client.post("/book/identity", data=FORM)
    assert response.status_code == 302 and response.location.endswith("/book/verify")
    wrong = client.post("/book/verify", data={"code": "000000" if sent_code() != "000000"
                                              else "111111"})
    assert "That code is not right" in wrong.get_data(as_text=True)
    response = client.post("/book/verify", data={"code": sent_code()})
    assert response.location.endswith("/book/done")
    page = client.get("/book/done").get_data(as_text=True)
    appointment = db.session.execute(select(Appointment)).scalar_one()
    assert appointment.start_at == slot.start and appointment.patient.given_name == "Rosa"
    # The chosen location's phone, in the text and the footer; not the practice's.
    assert "(312) 555-0101" in page and "Questions? Call Lakeside:" in page
    assert "(312) 555-0100" not in page and "calendar.google.com" in page
    assert "outlook.live.com" in page
    local = slot.start.astimezone(ZoneInfo(office.location.timezone))
    assert f"{local:%-I:%M} {local:%p} {local:%Z}".replace(" ", "\u202f", 1) in page \
        or f"{local:%-I:%M} {local:%p} {local:%Z}" in page
    assert len(urls) > 8
    for url in urls:
        for secret in ("Rosa", "Delgado", "1975", "555", "0177"):
            assert secret not in url, url


def test_the_session_cookie_never_shows_who_is_booking(app, client, office):
    walk_to_identity(client, office)
    client.post("/book/identity", data=FORM)
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session")).value
    state = app.session_interface.get_signing_serializer(app).loads(cookie)
    flat = repr(state)
    assert "identity" in flat  # the flow did keep it ...
    for secret in ("Rosa", "Delgado", "1975", "3125550177"):
        assert secret not in flat  # ... but only encrypted


def test_the_calendar_file_has_utc_times_type_practice_and_address_only(app, client, office):
    slot = first_slot(office)
    appointment = self_service.book_for(practice_id=office.practice.id, identity=WHO, slot=slot)
    with client.session_transaction() as session:
        session["booked_appointment"] = appointment.id
    response = client.get("/book/appointment.ics")
    assert response.mimetype == "text/calendar"
    event = Calendar.from_ical(response.data).walk("VEVENT")[0]
    assert event.decoded("dtstart") == slot.start and event.decoded("dtend") == slot.end
    assert b"Z" in event["dtstart"].to_ical()
    assert str(event["summary"]) == "Cleaning at Lakeside Family Dental"
    assert str(event["location"]) == (f"{office.location.address_line}, Springfield, IL 62701")
    assert "Rosa" not in response.get_data(as_text=True)


def test_a_slot_taken_while_verifying_shows_the_next_times(app, client, office):
    slot = walk_to_identity(client, office)
    client.post("/book/identity", data=FORM)
    booking.book(patient_id=factories.make_patient(office.practice).id, slot=slot,
                 source="staff", staff_id=factories.make_staff(office.practice).id)
    response = client.post("/book/verify", data={"code": sent_code()})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "That time was just taken" in page
    offered = re.findall(r'name="start" value="([^"]+)"', page)
    assert offered and slot.start.isoformat() not in offered
    # The patient proved the phone already: the next time books without another code.
    response = client.post(f"/book/time?type={office.kind.id}&location={office.location.id}",
                           data={"start": offered[0], "provider": office.provider.id})
    assert response.location.endswith("/book/verify")
    assert client.post("/book/verify").location.endswith("/book/done")
    booked = db.session.execute(select(Appointment).where(Appointment.source == "patient")
                                ).scalar_one()
    assert booked.start_at.isoformat() == offered[0] and booked.patient.family_name == "Delgado"
    assert db.session.execute(select(func.count(OneTimeCode.id)).where(
        OneTimeCode.purpose == "booking")).scalar_one() == 1


def test_a_proved_phone_does_not_vouch_for_another_identity(app, client, office):
    """Someone who proved their own phone cannot then type another person's name, birth date
    and mobile and book into that person's record without the code sent to that mobile."""
    victim = factories.make_patient(office.practice, given_name="Ana", family_name="Victim",
                                    date_of_birth=date(1960, 2, 2), mobile_phone="+13125550199")
    slot = walk_to_identity(client, office)
    client.post("/book/identity", data=FORM)
    booking.book(patient_id=factories.make_patient(office.practice).id, slot=slot,
                 source="staff", staff_id=factories.make_staff(office.practice).id)
    assert client.post("/book/verify", data={"code": sent_code()}).status_code == 409
    response = client.post("/book/identity", data={
        "given_name": "Ana", "family_name": "Victim", "date_of_birth": "1960-02-02",
        "mobile_phone": "(312) 555-0199"})
    assert response.location.endswith("/book/verify")
    page = client.get("/book/verify").get_data(as_text=True)
    assert 'name="code"' in page
    refused = client.post("/book/verify", data={})
    assert refused.status_code == 200 and 'name="code"' in refused.get_data(as_text=True)
    assert db.session.execute(select(Appointment).where(
        Appointment.patient_id == victim.id)).scalar_one_or_none() is None


def test_an_existing_patient_is_offered_the_other_types_instead(app, client, office):
    make_seen_patient(office)
    checkup = factories.make_appointment_type(office.practice, name="Checkup",
                                              duration_minutes=30)
    calendars.set_appointment_types(practice_id=office.practice.id,
                                    provider_id=office.provider.id,
                                    appointment_type_ids=[office.kind.id, checkup.id])
    db.session.commit()
    walk_to_identity(client, office, lang="es")
    client.post("/book/identity", data=FORM)

    response = client.post("/book/verify", data={"code": sent_code()})

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Esta visita es para pacientes nuevos" in page
    assert "Llame a Lakeside:" in page and "(312) 555-0101" in page  # the chosen location's
    assert f'href="/book/location?type={checkup.id}"' in page
    assert f"type={office.kind.id}" not in page
    assert db.session.execute(select(func.count(Appointment.id))).scalar_one() == 1  # the old one
    # The phone is proved: the other type books without another code.
    slot = online.open_slots(kind=checkup, location=office.location, provider_id=None)[0]
    response = client.post(f"/book/time?type={checkup.id}&location={office.location.id}",
                           data={"start": slot.start.isoformat(), "provider": slot.provider_id})
    assert response.location.endswith("/book/verify")
    assert client.post("/book/verify").location.endswith("/book/done")
    booked = db.session.execute(select(Appointment).where(
        Appointment.appointment_type_id == checkup.id)).scalar_one()
    assert booked.patient.family_name == "Delgado"


def test_a_busy_schedule_asks_to_try_again_without_a_new_code(app, client, office,
                                                             monkeypatch):
    walk_to_identity(client, office, lang="es")
    client.post("/book/identity", data=FORM)

    def busy(**_: object) -> None:
        raise booking.ScheduleBusy

    with monkeypatch.context() as patched:
        patched.setattr(self_service, "book_for", busy)
        response = client.post("/book/verify", data={"code": sent_code()})

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Estamos muy ocupados" in page and 'name="code"' not in page
    assert client.post("/book/verify").location.endswith("/book/done")


def test_pages_speak_spanish_and_bad_identity_is_named(app, client, office):
    walk_to_identity(client, office, lang="es")
    response = client.post("/book/identity", data={**FORM, "mobile_phone": "12",
                                                   "date_of_birth": "2990-01-01"})
    page = response.get_data(as_text=True)
    assert "¿Para quién es la cita?" in page
    assert "Escriba un número de celular" in page
    assert "fecha de nacimiento real" in page
    assert db.session.execute(select(func.count(OneTimeCode.id))).scalar_one() == 0


def test_the_code_is_texted_in_the_language_of_the_pages(app, client, office):
    walk_to_identity(client, office, lang="es")
    response = client.post("/book/identity", data=FORM)
    assert response.status_code == 302
    code = sent_code()
    body = db.session.execute(select(Message.body)).scalar_one()
    assert body == f"Su código de Lakeside Family Dental es {code}. Vence en 10 minutos."


def test_unknown_choices_are_not_found_not_errors(client, office):
    assert client.get("/book/location?type=999").status_code == 404
    assert client.get(f"/book/day?type={office.kind.id}&location=999").status_code == 404


def test_a_step_reached_without_the_earlier_choices_starts_over(client, office):
    for path in ("/book/location", f"/book/day?type={office.kind.id}", "/book/identity",
                 "/book/verify", "/book/done", "/book/appointment.ics"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.endswith("/book/"), path


def codes_texted() -> list[str]:
    """Where every booking code went, oldest first."""
    return list(db.session.execute(select(Message.address).where(
        Message.template == "booking_code").order_by(Message.id)).scalars())


def lock_the_code(client, office: Office, *, lang: str = "en") -> str:
    """Walk to the code step and spend its tries on a wrong code; the page after the lock."""
    walk_to_identity(client, office, lang=lang)
    client.post("/book/identity", data=FORM)
    right = sent_code()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(self_service.MAX_ATTEMPTS):
        client.post("/book/verify", data={"code": wrong})
    return client.post("/book/verify", data={"code": right}).get_data(as_text=True)


def test_after_too_many_tries_a_new_code_is_texted_to_the_same_phone(app, client, office):
    page = lock_the_code(client, office)
    # A spent code offers one thing: a new code (no box for another useless guess).
    assert "Too many tries" in page and 'name="code"' not in page
    assert "Send a new code" in page
    response = client.post("/book/verify/new-code")
    assert response.status_code == 302 and response.location.endswith("/book/verify")
    page = client.get("/book/verify").get_data(as_text=True)
    assert "We texted you a new code" in page and "Enter your code" in page
    assert codes_texted() == [PHONE, PHONE]
    assert client.post("/book/verify", data={"code": sent_code()}).location.endswith(
        "/book/done")
    assert db.session.execute(select(Appointment)).scalar_one().patient.given_name == "Rosa"


def test_a_new_code_is_refused_clearly_past_the_per_phone_limit(app, client, office):
    assert "Demasiados intentos" in lock_the_code(client, office, lang="es")
    for _ in range(self_service.MAX_CODES_PER_PHONE - 1):
        page = client.post("/book/verify/new-code", follow_redirects=True).get_data(
            as_text=True)
        assert "Le enviamos un código nuevo" in page
    page = client.post("/book/verify/new-code", follow_redirects=True).get_data(as_text=True)
    assert "Todavía no podemos enviar otro código" in page and "Escriba su código" in page
    assert len(codes_texted()) == self_service.MAX_CODES_PER_PHONE


def test_a_new_code_is_refused_past_the_per_address_limit(app, client, office):
    for n in range(self_service.MAX_CODES_PER_IP - 1):
        self_service.request_code(practice_id=office.practice.id, e164=f"+1312555030{n}",
                                  ip_address="127.0.0.1")
    walk_to_identity(client, office)
    assert client.post("/book/identity", data=FORM).location.endswith("/book/verify")
    page = client.post("/book/verify/new-code", follow_redirects=True).get_data(as_text=True)
    assert "We cannot send another code yet" in page
    assert codes_texted().count(PHONE) == 1


def test_a_new_code_needs_the_phone_given_first(client, office):
    walk_to_identity(client, office)
    response = client.post("/book/verify/new-code")
    assert response.status_code == 302 and response.location.endswith("/book/identity")
    assert codes_texted() == []


def _day_args(office: Office) -> str:
    return f"type={office.kind.id}&location={office.location.id}&provider=0"


def test_days_before_today_or_past_the_days_shown_say_they_cannot_be_booked(client, office):
    zone = ZoneInfo(office.location.timezone)
    today = utcnow().astimezone(zone).date()
    open_days = sorted(online.days_with_slots(
        online.open_slots(kind=office.kind, location=office.location, provider_id=None),
        zone))
    cases = {"1999-01-01": ("That day has already passed.", open_days[0]),
             (today - timedelta(days=1)).isoformat(): ("already passed", open_days[0]),
             (today + timedelta(days=online.DAYS_SHOWN + 2)).isoformat(): (
                 "That day is too far ahead to book online.", open_days[-1])}
    for day, (says, nearest) in cases.items():
        response = client.get(f"/book/time?{_day_args(office)}&day={day}")
        page = response.get_data(as_text=True)
        assert response.status_code == 200, day
        assert says in page and "now full" not in page, day
        assert f"day={nearest.isoformat()}" in page, day
        assert f'href="/book/day?{_day_args(office)}"'.replace("&", "&amp;") in page, day


def test_a_malformed_day_is_named_not_a_full_day(client, office):
    response = client.get(f"/book/time?{_day_args(office)}&day=tomorrow&lang=es")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "No pudimos leer ese día" in page and "Ver todos los días" in page


def test_the_footer_names_the_chosen_location_and_its_phone(client, office):
    page = client.get("/book/").get_data(as_text=True)
    assert "(312) 555-0100" in page and "(312) 555-0101" not in page
    walk_to_identity(client, office)
    page = client.get("/book/identity").get_data(as_text=True)
    assert "Questions? Call Lakeside:" in page and "(312) 555-0101" in page
    assert "(312) 555-0100" not in page


def test_a_wrong_number_is_corrected_without_typing_the_rest_again(app, client, office):
    walk_to_identity(client, office)
    client.post("/book/identity", data={**FORM, "mobile_phone": "(312) 555-0178"})
    assert 'href="/book/identity"' in client.get("/book/verify").get_data(as_text=True)
    page = client.get("/book/identity").get_data(as_text=True)
    assert 'value="Rosa"' in page and 'value="05/17/1975"' in page
    assert 'value="(312) 555-0178"' in page
    response = client.post("/book/identity", data=FORM)
    assert response.location.endswith("/book/verify")
    assert codes_texted() == ["+13125550178", PHONE]
    assert client.post("/book/verify", data={"code": sent_code()}).location.endswith(
        "/book/done")


def test_behind_a_trusted_proxy_each_patient_counts_from_their_own_address(make_app,
                                                                           monkeypatch):
    """With ``TRUST_PROXY`` the per-address count reads the client's address from the proxy's
    X-Forwarded-For, so one proxy's address does not put every patient in one bucket."""
    monkeypatch.setattr(self_service, "MAX_CODES_PER_IP", 1)
    app = make_app(TRUST_PROXY=True)
    with app.app_context():
        office = make_office(factories.make_practice())
        texted = []
        for n, address in enumerate(("203.0.113.5", "203.0.113.6", "203.0.113.5")):
            client = app.test_client()
            walk_to_identity(client, office)
            form = {**FORM, "mobile_phone": f"(312) 555-06{n:02d}"}
            response = client.post("/book/identity", data=form,
                                   headers={"X-Forwarded-For": address})
            texted.append(response.status_code == 302)
        assert texted == [True, True, False]  # the third shares the first one's address


def test_a_time_outside_working_hours_online_says_so(app, client, office):
    slot = walk_to_identity(client, office)
    late = slot.start.astimezone(ZoneInfo(office.location.timezone)).replace(hour=21, minute=7)
    response = client.post(f"/book/time?type={office.kind.id}&location={office.location.id}",
                           data={"start": late.isoformat(), "provider": slot.provider_id})
    assert response.location.endswith("/book/identity")
    client.post("/book/identity", data=FORM)
    page = client.post("/book/verify", data={"code": sent_code()})
    assert page.status_code == 409
    assert "That time is outside our working hours" in page.get_data(as_text=True)
    assert db.session.execute(select(func.count(Appointment.id))).scalar_one() == 0
