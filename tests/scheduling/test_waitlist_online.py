"""A patient joins the waitlist online: the same identity and texted-code steps as booking,
then a text when a matching time opens."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import request, request_started
from sqlalchemy import func, select

from app.core.clock import utcnow
from app.extensions import db
from app.messaging import consent, dispatcher
from app.messaging.cli import build_providers
from app.messaging.conversations import contact_index
from app.messaging.models import ConsentEntry, Message
from app.patients.models import Patient
from app.scheduling import booking, calendars, online, self_service, slots
from app.scheduling.models import WaitlistEntry
from app.scheduling.self_service import WaitlistWish
from app.scheduling.waitlist import entries as waitlist_entries
from app.scheduling.waitlist import states as waitlist_states
from app.security.models import AuditEvent
from tests import factories
from tests.scheduling.test_self_service import (
    FORM,
    PHONE,
    WHO,
    Office,
    make_office,
    make_seen_patient,
    sent_code,
    walk_to_identity,
)


@pytest.fixture
def office(practice) -> Office:
    return make_office(practice)


def wish(office: Office, *, weekdays: tuple[int, ...] = tuple(range(7)),
         time_of_day: str = "any") -> WaitlistWish:
    return WaitlistWish(appointment_type_id=office.kind.id, location_id=office.location.id,
                        provider_id=None, weekdays=weekdays, time_of_day=time_of_day)


def entries() -> list[WaitlistEntry]:
    return list(db.session.execute(select(WaitlistEntry).order_by(WaitlistEntry.id)).scalars())


def zone(office: Office) -> ZoneInfo:
    return ZoneInfo(office.location.timezone)


def cancel_a_visit_at(office: Office, hour: int) -> slots.Slot:
    """Book someone else at ``hour`` (local) three days ahead and cancel: the time is freed."""
    day = utcnow().astimezone(zone(office)).date() + timedelta(days=3)
    start = datetime.combine(day, time(hour), tzinfo=zone(office)).astimezone(UTC)
    slot = slots.Slot(start=start, end=start + timedelta(hours=1),
                      provider_id=office.provider.id, location_id=office.location.id,
                      appointment_type_id=office.kind.id)
    staff = factories.make_staff(office.practice)
    appointment = booking.book(patient_id=factories.make_patient(office.practice).id,
                               slot=slot, source="staff", staff_id=staff.id)
    booking.cancel(appointment_id=appointment.id, reason="Sick", source="staff",
                   staff_id=staff.id)
    return slot


def sent_offers() -> list[Message]:
    dispatcher.run_once(build_providers())
    return list(db.session.execute(select(Message).where(Message.template == "waitlist_offer")
                                   ).scalars())


# --- the service ------------------------------------------------------------------------------

def test_a_new_person_joins_as_a_patient_sourced_entry_and_is_audited(app, office):
    joined = self_service.join_waitlist(
        practice_id=office.practice.id, identity=WHO, language="es",
        wish=wish(office, weekdays=(0, 2), time_of_day="morning"))

    assert not joined.already_waiting and joined.texts_allowed
    entry = entries()[0]
    assert (entry.source, entry.priority, entry.status, entry.weekdays) == (
        "patient", 0, "waiting", "0,2")
    assert (entry.earliest_time, entry.latest_time, entry.providers) == (None, time(11, 59), [])
    patient = db.session.get(Patient, entry.patient_id)
    assert (patient.given_name, patient.mobile_phone, patient.preferred_language) == (
        "Rosa", PHONE, "es")
    audited = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "appointment.change")).scalar_one()
    assert audited.patient_id == patient.id and audited.object_id == str(entry.id)
    assert json.loads(audited.detail) == {"change": "waitlist_join", "source": "patient"}


def test_an_existing_patient_is_matched_and_the_chosen_provider_and_afternoons_kept(
        app, office):
    patient = factories.make_patient(office.practice, given_name="Rosa", family_name="Delgado",
                                     date_of_birth=date(1975, 5, 17), mobile_phone=PHONE)
    office.kind.for_new_patients = False
    db.session.commit()
    self_service.join_waitlist(
        practice_id=office.practice.id, identity=WHO,
        wish=WaitlistWish(appointment_type_id=office.kind.id, location_id=office.location.id,
                          provider_id=office.provider.id, weekdays=(4,),
                          time_of_day="afternoon"))
    entry = entries()[0]
    assert entry.patient_id == patient.id
    assert [p.id for p in entry.providers] == [office.provider.id]
    assert (entry.earliest_time, entry.latest_time) == (time(12), None)
    assert db.session.execute(select(func.count(Patient.id))).scalar_one() == 1


def test_joining_again_for_the_same_type_and_location_adds_no_second_entry(app, office):
    first = self_service.join_waitlist(practice_id=office.practice.id, identity=WHO,
                                       wish=wish(office))
    again = self_service.join_waitlist(practice_id=office.practice.id, identity=WHO,
                                       wish=wish(office, weekdays=(1,), time_of_day="morning"))

    assert again.already_waiting and again.entry.id == first.entry.id
    assert len(entries()) == 1 and entries()[0].weekdays == "0,1,2,3,4,5,6"
    refused = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "appointment.view")).scalar_one()
    assert refused.patient_id == first.entry.patient_id
    # Once the first entry is over, the patient may wait again.
    waitlist_entries.remove_entry(practice_id=office.practice.id, entry_id=first.entry.id)
    assert not self_service.join_waitlist(practice_id=office.practice.id, identity=WHO,
                                          wish=wish(office)).already_waiting


def test_a_type_not_bookable_online_is_refused_and_nobody_is_created(app, office):
    office.kind.bookable_online = False
    db.session.commit()
    with pytest.raises(waitlist_states.WaitlistInputError) as refused:
        self_service.join_waitlist(practice_id=office.practice.id, identity=WHO,
                                   wish=wish(office))
    assert "appointment_type_id" in refused.value.errors
    assert entries() == []
    assert db.session.execute(select(func.count(Patient.id))).scalar_one() == 0


def test_an_unknown_time_of_day_is_named(app, office):
    with pytest.raises(waitlist_states.WaitlistInputError) as refused:
        self_service.join_waitlist(practice_id=office.practice.id, identity=WHO,
                                   wish=wish(office, time_of_day="evening"))
    assert list(refused.value.errors) == ["time_of_day"]


def test_an_existing_patient_cannot_wait_for_a_new_patient_visit(app, office):
    make_seen_patient(office)
    with pytest.raises(self_service.NewPatientsOnly):
        self_service.join_waitlist(practice_id=office.practice.id, identity=WHO,
                                   wish=wish(office))
    assert entries() == []


@pytest.mark.clock("2026-06-10T19:00:00+00:00")  # daytime: sent at once, not held till morning
def test_the_offer_is_texted_without_any_consent_grant(app, office):
    """Offers are appointment texts: consent allows them to the patient's own number unless
    revoked, so joining records no grant, and the offer is sent, not suppressed."""
    self_service.join_waitlist(practice_id=office.practice.id, identity=WHO,
                               wish=wish(office, time_of_day="morning"))
    cancel_a_visit_at(office, 15)
    assert sent_offers() == []  # an afternoon time does not suit a morning wish
    cancel_a_visit_at(office, 10)

    [offer] = sent_offers()
    assert (offer.address, offer.status) == (PHONE, "sent")
    assert "Reply YES to take it" in offer.body
    assert db.session.execute(select(func.count(ConsentEntry.id))).scalar_one() == 0


def test_a_number_that_replied_stop_joins_but_is_told_texts_are_off(app, office):
    consent.record(practice_id=office.practice.id, channel="sms",
                   contact_index=contact_index("sms", PHONE), purpose=consent.ALL,
                   granted=False, source=consent.ConsentSource.KEYWORD)
    db.session.commit()
    joined = self_service.join_waitlist(practice_id=office.practice.id, identity=WHO,
                                        wish=wish(office))
    assert not joined.texts_allowed and not joined.already_waiting
    assert len(entries()) == 1


# --- the pages --------------------------------------------------------------------------------

def walk_to_waitlist(client, office: Office, *, lang: str = "en", provider: int = 0) -> str:
    """From the chosen day's times to the waitlist page, as the links go; returns its URL."""
    args = f"type={office.kind.id}&location={office.location.id}&provider={provider}"
    day = online.open_slots(kind=office.kind, location=office.location,
                                  provider_id=None)[0].start.astimezone(zone(office)).date()
    page = client.get(f"/book/time?{args}&day={day.isoformat()}&lang={lang}"
                      ).get_data(as_text=True)
    link = re.search(r'href="(/book/waitlist\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert f"provider={provider}" in link
    return link


def join_online(client, office: Office, *, form: dict[str, str] = FORM, lang: str = "en",
                choices: dict[str, object] | None = None) -> str:
    link = walk_to_waitlist(client, office, lang=lang)
    response = client.post(link, data=choices or {"weekdays": ["0", "2"],
                                                  "time_of_day": "morning"})
    assert response.status_code == 302 and response.location.endswith("/book/identity")
    response = client.post("/book/identity", data=form)
    assert response.location.endswith("/book/verify")
    response = client.post("/book/verify", data={"code": sent_code()})
    assert response.status_code == 302
    assert response.location.endswith("/book/waitlist/joined")
    return client.get("/book/waitlist/joined").get_data(as_text=True)


def test_a_patient_joins_the_waitlist_online_and_no_url_carries_phi(app, client, office):
    urls: list[str] = []
    request_started.connect(lambda sender, **extra: urls.append(request.full_path), app)
    link = walk_to_waitlist(client, office)
    page = client.get(link).get_data(as_text=True)
    assert "Join the waitlist" in page and "Reply YES to take it" in page
    assert page.count('<input checked id="weekdays-') == 7 and "Mornings (before noon)" in page
    client.post(link, data={"weekdays": ["0", "2"], "time_of_day": "morning"})
    page = client.get("/book/identity").get_data(as_text=True)
    assert "Waitlist: <strong>Mon, Wed · Mornings (before noon)</strong>" in page
    assert "ask us to text this number when a time opens" in page
    client.post("/book/identity", data=FORM)
    page = client.get("/book/verify").get_data(as_text=True)
    assert '<button type="submit">Join the waitlist</button>' in page

    response = client.post("/book/verify", data={"code": sent_code()})
    page = client.get(response.location).get_data(as_text=True)

    assert "<h1>You are on the waitlist</h1>" in page
    assert "Reply YES to take the time" in page and "Reply STOP" in page
    assert "(312) 555-0101" in page and "Texts from us to this number are turned off" not in page
    entry = entries()[0]
    assert (entry.weekdays, entry.latest_time, entry.source) == ("0,2", time(11, 59), "patient")
    assert db.session.get(Patient, entry.patient_id).family_name == "Delgado"
    for url in urls:
        for secret in ("Rosa", "Delgado", "1975", "555", "0177"):
            assert secret not in url, url


def test_a_new_person_cannot_join_the_waitlist_for_existing_patients(app, client, office):
    office.kind.for_new_patients = False  # "Existing patients" on the settings screen
    db.session.commit()
    link = walk_to_waitlist(client, office)
    client.post(link, data={"weekdays": ["0", "2"], "time_of_day": "morning"})
    client.post("/book/identity", data=FORM)
    refused = client.post("/book/verify", data={"code": sent_code()})
    assert refused.status_code == 409
    assert "This visit is for our existing patients" in refused.get_data(as_text=True)
    assert entries() == []
    assert db.session.execute(select(func.count(Patient.id))).scalar_one() == 0


def test_joining_twice_says_already_on_the_waitlist(app, client, office):
    join_online(client, office)
    page = join_online(client, office, choices={"weekdays": ["4"], "time_of_day": "any"})
    assert "<h1>You are already on the waitlist</h1>" in page
    assert len(entries()) == 1 and entries()[0].weekdays == "0,2"


def test_a_stopped_number_is_told_how_to_get_texts_again(app, client, office):
    consent.record(practice_id=office.practice.id, channel="sms",
                   contact_index=contact_index("sms", PHONE), purpose=consent.ALL,
                   granted=False, source=consent.ConsentSource.KEYWORD)
    db.session.commit()
    page = join_online(client, office)
    assert "Reply START to any text from us" in page


def test_the_waitlist_is_offered_when_no_day_has_times(client, office):
    calendars.set_weekly_hours(practice_id=office.practice.id, provider_id=office.provider.id,
                               location_id=office.location.id, intervals=[])
    page = client.get(f"/book/day?type={office.kind.id}&location={office.location.id}"
                      f"&provider={office.provider.id}").get_data(as_text=True)
    assert "There are no open times in the next two weeks" in page
    assert (f'href="/book/waitlist?type={office.kind.id}&amp;location={office.location.id}'
            f'&amp;provider={office.provider.id}"') in page


def test_no_day_chosen_is_named_on_the_waitlist_page(client, office):
    link = walk_to_waitlist(client, office)
    response = client.post(link, data={"time_of_day": "any"})
    assert response.status_code == 200
    assert "Choose one or more days." in response.get_data(as_text=True)
    response = client.post(link, data={"weekdays": ["9"], "time_of_day": "night"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and page.count('class="field-error"') == 2


def test_the_waitlist_pages_speak_spanish(app, client, office):
    link = walk_to_waitlist(client, office, lang="es")
    page = client.get(link).get_data(as_text=True)
    assert "Únase a la lista de espera" in page and "lunes" in page
    assert "Mañanas (antes del mediodía)" in page
    page = join_online(client, office, lang="es")
    assert "Está en la lista de espera" in page and "Responda SÍ" in page
    assert "Responda STOP" in page
    patient = db.session.get(Patient, entries()[0].patient_id)
    assert patient.preferred_language == "es"


def test_a_staff_only_type_or_unknown_provider_has_no_waitlist_page(client, office):
    base = f"/book/waitlist?type={office.kind.id}&location={office.location.id}"
    assert client.get(f"{base}&provider=999").status_code == 404
    office.kind.bookable_online = False
    db.session.commit()
    assert client.get(f"{base}&provider=0").status_code == 404


def test_a_waitlist_step_reached_without_the_earlier_choices_starts_over(client, office):
    for path in ("/book/waitlist", f"/book/waitlist?type={office.kind.id}",
                 "/book/waitlist/joined", "/book/identity", "/book/verify"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.endswith("/book/"), path
    response = client.post("/book/verify", data={"code": "123456"})
    assert response.status_code == 302 and response.location.endswith("/book/")


def test_after_a_taken_time_the_proved_phone_joins_without_a_new_code(app, client, office):
    slot = walk_to_identity(client, office)
    client.post("/book/identity", data=FORM)
    booking.book(patient_id=factories.make_patient(office.practice).id, slot=slot,
                 source="patient")
    assert client.post("/book/verify", data={"code": sent_code()}).status_code == 409

    response = client.post(walk_to_waitlist(client, office),
                           data={"weekdays": ["1"], "time_of_day": "afternoon"})
    assert response.location.endswith("/book/verify")
    assert client.post("/book/verify").location.endswith("/book/waitlist/joined")
    assert entries()[0].weekdays == "1"
    assert db.session.execute(select(func.count(Message.id)).where(
        Message.template == "booking_code")).scalar_one() == 1


def test_a_type_made_staff_only_while_verifying_is_a_clear_refusal(app, client, office):
    client.post(walk_to_waitlist(client, office), data={"weekdays": ["1"],
                                                        "time_of_day": "any"})
    client.post("/book/identity", data=FORM)
    office.kind.bookable_online = False
    db.session.commit()
    response = client.post("/book/verify", data={"code": sent_code()})
    assert response.status_code == 200
    assert "can no longer be chosen online" in response.get_data(as_text=True)
    assert entries() == []
