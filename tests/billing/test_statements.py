"""Statements: the PDF renders (its first page drawn to an image), in the patient's language,
with the pay link's QR code; the monthly run sends each account over the threshold once."""

from __future__ import annotations

import json
from datetime import timedelta

import pypdfium2
import pytest
from sqlalchemy import select

from app.billing import statements
from app.core import clock
from app.extensions import db
from app.messaging.models import Message
from tests import factories
from tests.billing.helpers import charge, grant_billing


def _first_page(pdf: bytes) -> tuple[str, object]:
    document = pypdfium2.PdfDocument(pdf)
    page = document[0]
    text = page.get_textpage().get_text_range()
    image = page.render(scale=1).to_pil()
    return text, image


def _inked(image) -> int:  # noqa: ANN001
    """How many pixels are not white: a blank page has none."""
    return sum(image.convert("L").histogram()[:200])


@pytest.mark.parametrize(("language", "title", "due", "visit"), [
    ("en", "Statement of", "Amount due: $95.00", "Visit on 2026-05-01"),
    ("es", "Estado de cuenta del", "Importe a pagar: $95.00", "Visita del 2026-05-01")])
def test_the_pdf_renders_with_items_aging_and_the_pay_code(app, practice, language, title,
                                                           due, visit):
    patient = factories.make_patient(practice, preferred_language=language,
                                     address_line="12 Elm St", city="Springfield",
                                     state="IL", postal_code="62701")
    with clock.frozen_at(clock.utcnow() - timedelta(days=40)):
        charge(patient, 7000, "Visit on 2026-05-01")
    charge(patient, 2500, "Visit on 2026-06-10")
    statement = statements.build(practice_id=practice.id, patient_id=patient.id,
                                 pay_url="https://clinic.example/p/abc")
    with_code = statements.pdf(statement)
    text, image = _first_page(with_code)
    assert title in text and due in text and visit in text
    assert "$70.00" in text and "Lakeside Family Dental" in text
    assert image.size[0] > 500
    without_code = _first_page(statements.pdf(statements.build(
        practice_id=practice.id, patient_id=patient.id)))[1]
    # the QR code is drawn: the page with it carries clearly more ink
    assert _inked(image) > _inked(without_code) + 1000


def test_the_link_page_offers_the_pdf_and_staff_preview_it(app, client, login, practice):
    patient = factories.make_patient(practice)
    charge(patient, 4000)
    grant_billing(patient, "email")
    sent = statements.send(practice_id=practice.id, patient_id=patient.id, staff_id=None)
    message = db.session.get(Message, sent.message_id)
    assert (message.template, message.channel) == ("statement", "email")
    link = json.loads(message.context)["url"].removeprefix("http://localhost")
    answer = client.get(f"{link}/statement.pdf")
    assert answer.mimetype == "application/pdf"
    assert "$40.00" in _first_page(answer.data)[0]
    preview = login("front_desk").get(f"/billing/patients/{patient.id}/statement.pdf")
    assert preview.data.startswith(b"%PDF")


@pytest.mark.app_settings(STATEMENT_MIN_BALANCE="50")
def test_the_monthly_run_sends_over_the_threshold_once(app, practice):
    owing, small, unreachable = (factories.make_patient(practice) for _ in range(3))
    charge(owing, 6000)
    charge(small, 1000)
    charge(unreachable, 9000)
    grant_billing(owing)
    grant_billing(small)
    assert statements.monthly_run(practice_id=practice.id) == 1
    assert statements.monthly_run(practice_id=practice.id) == 0
    (message,) = db.session.execute(select(Message).where(
        Message.template == "statement")).scalars()
    assert message.patient_id == owing.id
