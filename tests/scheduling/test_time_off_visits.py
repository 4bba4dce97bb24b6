"""Time off over booked visits (issue 12, defect 5): the manager is warned, shown the visits it
covers, and moves or cancels each; the patient is texted through the outbox."""

from __future__ import annotations

import html
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.messaging.models import Message
from app.scheduling import calendars
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import Appointment
from tests import factories

NY = ZoneInfo("America/New_York")


def test_time_off_over_booked_visits_lists_them_to_move_or_cancel(login, practice) -> None:
    location = factories.make_location(practice, name="Manhattan", timezone="America/New_York")
    provider = factories.make_provider(practice, locations=[location], family_name="Rivera")
    exam = factories.make_appointment_type(practice, name="Exam", duration_minutes=30)
    calendars.set_appointment_types(practice_id=practice.id, provider_id=provider.id,
                                    appointment_type_ids=[exam.id])
    calendars.set_weekly_hours(practice_id=practice.id, provider_id=provider.id,
                               location_id=location.id,
                               intervals=[WeeklyInterval(d, time(9), time(12)) for d in range(7)])
    day = utcnow().astimezone(NY).date() + timedelta(days=14)

    def visit(hhmm: str, family_name: str) -> Appointment:
        start = datetime.combine(day, time.fromisoformat(hhmm), tzinfo=NY).astimezone(UTC)
        return factories.make_appointment(
            factories.make_patient(practice, family_name=family_name), provider, location,
            start_at=start, appointment_type=exam)

    moving, cancelling = visit("09:30", "Quintero"), visit("10:30", "Okafor")
    client = login("manager")
    url = f"/settings/calendars/providers/{provider.id}"

    added = client.post(f"{url}/exceptions", data={
        "exception-kind": "time_off", "exception-location_id": str(location.id),
        "exception-starts_on": day.isoformat(), "exception-start_time": "09:00",
        "exception-end_time": "12:00", "exception-label": "Conference"})

    assert added.status_code == 302 and "/visits" in added.location
    page = html.unescape(client.get(added.location).get_data(as_text=True))
    assert "2 booked visits fall in this time off" in page
    assert "Quintero" in page and "Okafor" in page
    move_to = client.get(added.location).get_data(as_text=True).split(
        'name="start" value="')[1].split('"')[0]
    moved = client.post(f"{added.location}/{moving.id}", data={
        "appointment_type_id": exam.id, "provider_id": provider.id,
        "location_id": location.id, "start": move_to})
    assert moved.status_code == 302
    cancelled = client.post(f"{added.location}/{cancelling.id}", data={})
    assert cancelled.status_code == 302

    db.session.expire_all()
    assert db.session.get(Appointment, moving.id).start_at == datetime.fromisoformat(move_to)
    assert db.session.get(Appointment, cancelling.id).status == "cancelled"
    texts = {m.patient_id: m.template for m in db.session.execute(select(Message)).scalars()}
    assert texts == {moving.patient_id: "visit_moved", cancelling.patient_id: "visit_cancelled"}
    assert "No booked visit falls in this time off any more." in client.get(
        added.location).get_data(as_text=True)
