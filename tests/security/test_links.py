"""Signed patient links: purpose-bound, expiring, single-use where the action is, no PHI
inside; a refused link gets a friendly page with the practice's phone and reveals nothing."""

import json
import re
from datetime import timedelta

import pytest
from flask import Blueprint
from flask_babel import force_locale, gettext
from itsdangerous.encoding import base64_decode
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.security.links import (
    LinkExpired,
    LinkInvalid,
    LinkPurpose,
    LinkUsed,
    consume_link_token,
    issue_link_token,
    patient_link,
    public_link_url,
    verify_link_token,
)
from app.security.models import AuditEvent, UsedLinkToken
from tests import factories

pages = Blueprint("link_test_pages", __name__)


@pages.get("/test-pay/<token>")
@patient_link(LinkPurpose.PAYMENT)
def pay(link):  # noqa: ANN001, ANN201
    return f"pay for {link.subject_id}"


@pages.post("/test-code/<token>")
@patient_link(LinkPurpose.BOOKING_CODE)
def use_code(link):  # noqa: ANN001, ANN201
    consume_link_token(link)
    db.session.commit()
    return "booked"


@pytest.fixture
def link_app(make_app):  # noqa: ANN001, ANN201
    """An app with test-only patient pages guarded by @patient_link."""
    app = make_app()
    app.register_blueprint(pages)
    with app.app_context():
        factories.make_practice()
        yield app


@pytest.fixture
def client(link_app):  # noqa: ANN001, ANN201
    return link_app.test_client()


def later(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    now = clock.utcnow() + delta
    monkeypatch.setattr(clock, "utcnow", lambda: now)


def invalid_link_events() -> list[dict]:
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "link.invalid")
                                .order_by(AuditEvent.id)).scalars()
    return [json.loads(event.detail) for event in events]


def test_a_valid_link_opens_its_page(link_app, client):
    token = issue_link_token(LinkPurpose.PAYMENT, 42)
    response = client.get(f"/test-pay/{token}")
    assert response.status_code == 200
    assert response.text == "pay for 42"
    claims = verify_link_token(token, "payment")
    assert claims.purpose is LinkPurpose.PAYMENT and not claims.single_use
    assert timedelta(days=6, hours=23) < claims.expires_at - clock.utcnow() <= timedelta(days=7)


def test_public_url_is_the_base_url_and_a_short_path(link_app):
    token = issue_link_token("intake_form", 7)
    assert public_link_url("intake_form", token) == f"http://localhost/f/{token}"


def test_tampered_link_gets_404_page_with_the_practice_phone(link_app, client):
    token = issue_link_token(LinkPurpose.PAYMENT, 42)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    response = client.get(f"/test-pay/{tampered}")
    assert response.status_code == 404
    assert "This link does not work" in response.text
    assert "Lakeside Family Dental" in response.text
    assert "(312) 555-0100" in response.text and 'href="tel:+13125550100"' in response.text
    assert invalid_link_events() == [{"purpose": "payment", "reason": "tampered"}]
    with pytest.raises(LinkInvalid) as refused:
        verify_link_token(tampered, LinkPurpose.PAYMENT)
    assert refused.value.reason == "tampered"
    assert client.get("/test-pay/not-even-a-token").status_code == 404


def test_link_for_another_purpose_is_refused(link_app, client):
    intake = issue_link_token(LinkPurpose.INTAKE_FORM, 42)
    assert verify_link_token(intake, LinkPurpose.INTAKE_FORM).subject_id == "42"
    with pytest.raises(LinkInvalid) as refused:
        verify_link_token(intake, LinkPurpose.PAYMENT)
    assert refused.value.reason == "wrong_purpose"
    response = client.get(f"/test-pay/{intake}")
    assert response.status_code == 404
    assert invalid_link_events()[-1] == {"purpose": "payment", "reason": "wrong_purpose"}


def test_link_signed_with_another_secret_is_refused(link_app, make_app):
    with make_app(SECRET_KEY="another-deployment").app_context():
        foreign = issue_link_token(LinkPurpose.PAYMENT, 42)
    with pytest.raises(LinkInvalid):
        verify_link_token(foreign, LinkPurpose.PAYMENT)


def test_expired_link_gets_410(link_app, client, monkeypatch):
    token = issue_link_token(LinkPurpose.PAYMENT, 42)
    later(monkeypatch, timedelta(days=6, hours=23))
    assert client.get(f"/test-pay/{token}").status_code == 200
    later(monkeypatch, timedelta(hours=2))
    response = client.get(f"/test-pay/{token}")
    assert response.status_code == 410
    assert "This link has expired" in response.text and "(312) 555-0100" in response.text
    assert invalid_link_events() == [{"purpose": "payment", "reason": "expired"}]


def test_issuer_chooses_the_lifetime(link_app, monkeypatch):
    short = issue_link_token(LinkPurpose.INTAKE_FORM, 1, max_age=timedelta(minutes=5))
    appointment_start = clock.utcnow() + timedelta(hours=3)
    confirm = issue_link_token(LinkPurpose.CONFIRMATION, 1, expires_at=appointment_start)
    intake = issue_link_token(LinkPurpose.INTAKE_FORM, 1)
    later(monkeypatch, timedelta(minutes=6))
    with pytest.raises(LinkExpired):
        verify_link_token(short, LinkPurpose.INTAKE_FORM)
    assert verify_link_token(confirm, LinkPurpose.CONFIRMATION).subject_id == "1"
    later(monkeypatch, timedelta(hours=3))
    with pytest.raises(LinkExpired):
        verify_link_token(confirm, LinkPurpose.CONFIRMATION)
    later(monkeypatch, timedelta(days=13))
    verify_link_token(intake, LinkPurpose.INTAKE_FORM)
    later(monkeypatch, timedelta(days=1))
    with pytest.raises(LinkExpired):
        verify_link_token(intake, LinkPurpose.INTAKE_FORM)
    with pytest.raises(ValueError, match="not both"):
        issue_link_token(LinkPurpose.PAYMENT, 1, max_age=timedelta(1), expires_at=clock.utcnow())


def test_single_use_link_works_once(link_app, client):
    code = issue_link_token(LinkPurpose.BOOKING_CODE, 42)
    assert client.post(f"/test-code/{code}").text == "booked"
    second = client.post(f"/test-code/{code}")
    assert second.status_code == 410
    assert "This link has already been used" in second.text
    assert invalid_link_events() == [{"purpose": "booking_code", "reason": "used"}]
    assert db.session.execute(select(UsedLinkToken.purpose)).scalars().all() == ["booking_code"]
    other = issue_link_token(LinkPurpose.BOOKING_CODE, 42)
    assert client.post(f"/test-code/{other}").text == "booked"


def test_two_uses_racing_past_the_check_spend_the_token_once(link_app):
    code = issue_link_token(LinkPurpose.BOOKING_CODE, 42)
    first = verify_link_token(code, LinkPurpose.BOOKING_CODE)
    second = verify_link_token(code, LinkPurpose.BOOKING_CODE)  # before the first commits
    consume_link_token(first)
    db.session.commit()
    with pytest.raises(LinkUsed):
        consume_link_token(second)
    with pytest.raises(LinkUsed):
        verify_link_token(code, LinkPurpose.BOOKING_CODE)


def test_only_single_use_links_are_consumed(link_app):
    claims = verify_link_token(issue_link_token(LinkPurpose.PAYMENT, 1), LinkPurpose.PAYMENT)
    with pytest.raises(ValueError, match="single-use"):
        consume_link_token(claims)
    reusable = issue_link_token(LinkPurpose.PAYMENT, 1, single_use=True)
    assert verify_link_token(reusable, LinkPurpose.PAYMENT).single_use


def test_token_carries_no_phi(link_app):
    patient = factories.make_patient(factories.make_practice("Second Practice"),
                                     given_name="Zephyrine", family_name="Quillfeather",
                                     mobile_phone="+13125557788",
                                     email="zephyrine.q@example.org")
    token = issue_link_token(LinkPurpose.INTAKE_FORM, patient.id)
    payload = json.loads(base64_decode(token.split(".")[0]))
    assert set(payload) == {"p", "s", "j", "e", "u"}
    assert payload["p"] == "intake_form" and payload["s"] == str(patient.id)
    assert len(payload["j"]) == 16
    for secret in ("Zephyrine", "Quillfeather", "3125557788", "zephyrine.q",
                   patient.date_of_birth.isoformat()):
        assert secret not in json.dumps(payload) and secret not in token


def spanish(text: str, **values: str) -> str:
    with force_locale("es"):
        translated = gettext(text, **values)
    assert translated != text % values, f"no Spanish for {text!r}"
    return translated


def test_refusal_page_is_in_spanish_for_spanish_browsers(link_app, client, monkeypatch):
    token = issue_link_token(LinkPurpose.PAYMENT, 42)
    headers = {"Accept-Language": "es-MX,es;q=0.9"}
    tampered = client.get(f"/test-pay/{token}x", headers=headers)
    assert tampered.status_code == 404
    assert spanish("This link does not work") in tampered.text
    assert spanish("Please call %(practice)s and we will help you:",
                   practice="Lakeside Family Dental") in tampered.text
    assert "(312) 555-0100" in tampered.text
    assert "This link does not work" not in tampered.text
    later(monkeypatch, timedelta(days=8))
    expired = client.get(f"/test-pay/{token}", headers=headers)
    assert spanish("This link has expired") in expired.text


def _without_request_specifics(html: str, token: str) -> str:
    """The page less what must differ: its request id, the session's CSRF token and the link's
    own token in the language switch."""
    html = html.replace(token, "TOKEN")
    html = re.sub(r'name="csrf-token" content="[^"]*"', "", html)
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "", html)


@pytest.mark.parametrize("reason", ["expired", "tampered"])
def test_page_is_the_same_whether_or_not_the_patient_exists(link_app, client, monkeypatch,
                                                            reason):
    patient = factories.make_patient(factories.make_practice("Second Practice"))
    real = issue_link_token(LinkPurpose.PAYMENT, patient.id)
    missing = issue_link_token(LinkPurpose.PAYMENT, patient.id + 1000)
    if reason == "expired":
        later(monkeypatch, timedelta(days=30))
    suffix = "x" if reason == "tampered" else ""
    first = client.get(f"/test-pay/{real}{suffix}")
    second = client.get(f"/test-pay/{missing}{suffix}")
    assert first.status_code == second.status_code
    assert first.request.environ["PATH_INFO"] != second.request.environ["PATH_INFO"]
    assert first.text != second.text  # each page shows its own request reference ...
    assert (_without_request_specifics(first.text, real)
            == _without_request_specifics(second.text, missing))
    assert first.headers["X-Request-ID"] in first.text
