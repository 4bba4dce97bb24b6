"""Staff see a banner while due messages wait past messaging.delays.OVERDUE (no worker is
keeping up), and not for messages held by the rules (quiet hours defer to a later time); and
another while texts from patients wait unrouted past INBOUND_OVERDUE."""

from __future__ import annotations

import pytest

from app.core.clock import frozen_at, utcnow
from app.messaging import inbound_queue
from app.messaging.delays import INBOUND_OVERDUE, OVERDUE
from tests import factories
from tests.messaging.signed_webhooks import (
    PATIENT_PHONE,
    WEBHOOK_SETTINGS,
    inbound_form,
    post_twilio,
)

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


INBOUND_BANNER = "Texts from patients are waiting to reach the inbox"


@pytest.mark.app_settings(**WEBHOOK_SETTINGS)
def test_texts_the_worker_has_not_routed_show_a_banner_until_it_routes_them(
        login, client, practice):
    factories.make_patient(practice, mobile_phone=PATIENT_PHONE)
    staff = login("front_desk")
    stored_at = utcnow()
    post_twilio(client, "/webhooks/twilio/sms", inbound_form("Running late"), route=False)

    assert INBOUND_BANNER not in staff.get("/").get_data(as_text=True)  # the worker is near
    with frozen_at(stored_at + INBOUND_OVERDUE * 2):  # no worker ran meanwhile
        page = staff.get("/inbox/", headers={"Accept-Language": "es"}).get_data(as_text=True)
        assert "Los textos de los pacientes esperan" in page
        inbound_queue.route_waiting()
        assert INBOUND_BANNER not in staff.get("/inbox/").get_data(as_text=True)
    assert BANNER not in page  # nothing outbound is late
