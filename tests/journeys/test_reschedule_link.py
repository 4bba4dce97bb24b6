"""The reschedule link (a reply R, the visit page's "Pick another time") MOVES the visit it
names: the time the patient picks online replaces the old one, no second visit is booked,
its reminders are re-timed and staff see a move. A link that cannot move its visit (expired,
cancelled, past, checked in) says why and leaves booking a new visit open."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.messaging.models import MessageStatus
from app.scheduling import booking, moves
from app.scheduling.models import Appointment
from tests import factories
from tests.journeys.kit import (
    book,
    journey_messages,
    local_day,
    run_worker_until,
    text_in,
    utc,
)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _visits_of(patient) -> list[Appointment]:
    db.session.expire_all()
    return list(db.session.execute(select(Appointment).where(
        Appointment.patient_id == patient.id)).scalars())


def _pick(client, clinic, start) -> object:
    """Open the day, then post the time (as the times page's button does)."""
    return client.post(f"/book/time?type={clinic.kind.id}&location={clinic.location.id}"
                       f"&provider={clinic.provider.id}",
                       data={"start": start.isoformat(), "provider": str(clinic.provider.id)})


def test_a_reply_r_link_moves_the_visit_and_re_times_its_reminders(client, clinic):
    patient = factories.make_patient(clinic.practice)
    visit = book(clinic, patient, local_day(5), "10:00")
    old_start = visit.start_at
    run_worker_until(clinic, clock.utcnow() + timedelta(hours=14))
    at = clock.utcnow() + timedelta(hours=14, minutes=5)
    text_in(patient, "R", at=at)
    run_worker_until(clinic, at + timedelta(minutes=5))
    reply = clinic.texts_to(patient)[-1]
    link = re.search(r"http://localhost(/m/\S+)", reply).group(1)

    opened = client.get(link)
    assert opened.status_code == 302
    day_page = client.get(_path(opened.location))
    html = day_page.get_data(as_text=True)
    assert "Moving your visit on" in html and "10:00" in html  # the old time shown

    new_start = utc(local_day(6), "14:00")
    picked = _pick(client, clinic, new_start)
    assert picked.status_code == 302 and picked.location.endswith("/book/move")
    page = client.get("/book/move").get_data(as_text=True)
    assert "Moving your visit on" in page and "2:00" in page
    done = client.post("/book/move")
    assert done.status_code == 302
    moved_page = client.get(_path(done.location)).get_data(as_text=True)
    assert "Your visit is moved" in moved_page and "It was on" in moved_page

    [only] = _visits_of(patient)  # moved, not a second visit
    assert only.id == visit.id and only.start_at == new_start and only.status == "booked"
    assert "moved online by the patient from" in only.note  # staff see it as a move
    live = {m.idempotency_key.split(":")[2]: m for m in journey_messages(only)
            if m.template == "journey_reminder" and m.status == MessageStatus.SCHEDULED
            and m.idempotency_key.startswith("j:p:")}
    assert live["1d"].send_at == new_start - timedelta(days=1)
    assert live["2h"].send_at == new_start - timedelta(hours=2)
    assert all(m.send_at != old_start - timedelta(hours=2) for m in live.values())


def test_the_visit_page_pick_another_time_moves_the_visit(client, clinic):
    patient = factories.make_patient(clinic.practice)
    visit = book(clinic, patient, local_day(5), "10:00")
    run_worker_until(clinic, clock.utcnow() + timedelta(hours=14))
    visit_url = re.search(r"http://localhost(/c/\S+)", clinic.texts_to(patient)[0]).group(1)
    page = client.get(visit_url).get_data(as_text=True)
    link = re.search(r'href="http://localhost(/m/[^"]+)"', page).group(1)
    client.get(link)
    new_start = utc(local_day(7), "09:00")
    _pick(client, clinic, new_start)
    assert client.post("/book/move").status_code == 302
    [only] = _visits_of(patient)
    assert only.id == visit.id and only.start_at == new_start


def test_a_time_taken_meanwhile_offers_the_next_times_and_keeps_the_visit(client, clinic):
    patient = factories.make_patient(clinic.practice)
    visit = book(clinic, patient, local_day(5), "10:00")
    client.get(_path(moves.link_for(visit)))
    new_start = utc(local_day(6), "14:00")
    _pick(client, clinic, new_start)
    book(clinic, factories.make_patient(clinic.practice), local_day(6), "14:00")
    taken = client.post("/book/move")
    assert taken.status_code == 409
    assert "That time was just taken" in taken.get_data(as_text=True)
    assert _visits_of(patient)[0].start_at == visit.start_at


@pytest.mark.parametrize("what, heading", [
    ("cancelled", "is cancelled"),
    ("checked-in", "You are checked in"),
    ("past", "has already taken place"),
])
def test_a_visit_that_cannot_move_gets_a_clear_page_and_can_book_anew(
        client, clinic, what, heading):
    patient = factories.make_patient(clinic.practice)
    visit = book(clinic, patient, local_day(1), "10:00")
    link = _path(moves.link_for(visit))
    at = clock.utcnow()
    if what == "cancelled":
        booking.cancel(appointment_id=visit.id, reason="Patient called", source="staff",
                       staff_id=clinic.staff.id)
    elif what == "checked-in":
        at = visit.start_at - timedelta(minutes=10)
        with clock.frozen_at(at):
            booking.set_status(appointment_id=visit.id, status="checked-in", source="staff",
                               staff_id=clinic.staff.id)
    else:
        at = visit.start_at + timedelta(hours=1)
    with clock.frozen_at(at):
        response = client.get(link)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert heading in html and "Book a new visit" in html and 'href="/book/' in html
    assert len(_visits_of(patient)) == 1


def test_an_expired_or_tampered_link_says_so_and_offers_booking(client, clinic):
    visit = book(clinic, factories.make_patient(clinic.practice), local_day(1), "10:00")
    link = _path(moves.link_for(visit))
    with clock.frozen_at(visit.end_at + timedelta(days=2)):
        expired = client.get(link)
    assert expired.status_code == 410
    assert "This link has expired" in expired.get_data(as_text=True)
    assert "Book a new visit" in expired.get_data(as_text=True)
    tampered = client.get(link[:-3] + "xyz")
    assert tampered.status_code == 404 and "Book a new visit" in tampered.get_data(as_text=True)


def test_starting_over_books_a_new_visit_normally(client, clinic):
    patient = factories.make_patient(clinic.practice)
    visit = book(clinic, patient, local_day(5), "10:00")
    client.get(_path(moves.link_for(visit)))
    client.get("/book/")
    day = client.get(f"/book/day?type={clinic.kind.id}&location={clinic.location.id}"
                     f"&provider={clinic.provider.id}").get_data(as_text=True)
    assert "Moving your visit" not in day
    picked = _pick(client, clinic, utc(local_day(6), "14:00"))
    assert picked.location.endswith("/book/identity")


def test_the_move_pages_speak_spanish(client, clinic):
    patient = factories.make_patient(clinic.practice, preferred_language="es")
    visit = book(clinic, patient, local_day(5), "10:00")
    opened = client.get(_path(moves.link_for(visit)))
    assert "lang=es" in opened.location
    html = client.get(_path(opened.location)).get_data(as_text=True)
    assert "Cambiar su cita del" in html
    _pick(client, clinic, utc(local_day(6), "14:00"))
    page = client.get("/book/move").get_data(as_text=True)
    assert "Cambiar mi cita" in page
    booking.cancel(appointment_id=visit.id, reason="Patient called", source="staff",
                   staff_id=clinic.staff.id)
    refused = client.get(_path(moves.link_for(visit))).get_data(as_text=True)
    assert "está cancelada" in refused and "Reservar una cita nueva" in refused
