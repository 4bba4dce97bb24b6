"""Staff see a banner while due messages wait past messaging.delays.OVERDUE (no worker is
keeping up), and not for messages held by the rules (quiet hours defer to a later time)."""

from __future__ import annotations

from app.core.clock import utcnow
from app.messaging.delays import OVERDUE
from tests import factories

BANNER = "Messages to patients are delayed"


def test_messages_overdue_past_the_limit_show_the_banner_to_their_practice_only(
        login, practice):
    patient = factories.make_patient(practice)
    staff = login("front_desk")
    factories.make_message(patient, status="scheduled", send_at=utcnow() - OVERDUE / 2)
    assert BANNER not in staff.get("/").get_data(as_text=True)
    factories.make_message(patient, status="scheduled", send_at=utcnow() - OVERDUE * 2)
    assert BANNER in staff.get("/").get_data(as_text=True)

    other = factories.make_practice(name="Elsewhere Dental")
    elsewhere = factories.make_staff(other, role="front_desk")
    client = staff.application.test_client()
    client.post("/sign-in", data={"email": elsewhere.email,
                                  "password": factories.STAFF_PASSWORD})
    assert BANNER not in client.get("/").get_data(as_text=True)


def test_the_banner_is_in_spanish_for_spanish_pages(login, practice):
    patient = factories.make_patient(practice)
    factories.make_message(patient, status="scheduled", send_at=utcnow() - OVERDUE * 2)
    page = login("front_desk").get("/", headers={"Accept-Language": "es"})
    assert "Los mensajes a los pacientes están retrasados" in page.get_data(as_text=True)
