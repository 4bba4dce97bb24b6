"""Sign-in: lockouts per account and per IP, equal treatment of unknown emails, audit."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import select, update

from app.core.clock import utcnow
from app.extensions import db
from app.security import signin
from app.security.models import AuditEvent, SignInAttempt, StaffUser
from tests import factories

WRONG = "not the right password at all"
LOCKED = "This account is locked for 15 minutes after repeated failed sign-ins."
NO_MATCH = "That email and password do not match an active account."


def attempt(client, email: str, password: str, **headers: str):
    return client.post("/sign-in", data={"email": email, "password": password},
                       headers=headers)


def actions() -> list[str]:
    return list(db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


@pytest.fixture
def user(practice):
    return factories.make_staff(practice, role="front_desk")


def test_correct_password_signs_in_and_is_audited(client, user):
    response = attempt(client, user.email.upper(), factories.STAFF_PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert actions() == ["auth.sign_in"]
    db.session.refresh(user)
    assert user.last_sign_in_at is not None
    assert db.session.execute(select(SignInAttempt.succeeded)).scalars().all() == [True]


def test_wrong_password_is_refused_with_a_message_and_recorded(client, user):
    response = attempt(client, user.email, WRONG)
    assert response.status_code == 200
    assert NO_MATCH in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert actions() == ["auth.sign_in_failed"]
    row = db.session.execute(select(SignInAttempt)).scalar_one()
    assert (row.email, row.ip, row.succeeded) == (user.email, "127.0.0.1", False)


def test_disabled_account_with_right_password_is_refused(client, user):
    user.active = False
    db.session.commit()
    response = attempt(client, user.email, factories.STAFF_PASSWORD)
    assert NO_MATCH in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_brute_force_locks_the_account_and_right_password_is_refused_while_locked(
        client, user):
    for _ in range(4):
        assert NO_MATCH in attempt(client, user.email, WRONG).get_data(as_text=True)
    fifth = attempt(client, user.email, WRONG)
    assert LOCKED in fifth.get_data(as_text=True)
    db.session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()

    right = attempt(client, user.email, factories.STAFF_PASSWORD)
    wrong = attempt(client, user.email, WRONG)
    assert right.status_code == wrong.status_code == 200
    assert LOCKED in right.get_data(as_text=True)
    assert LOCKED in wrong.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert actions().count("auth.account_locked") == 1
    assert "auth.sign_in" not in actions()


def test_lock_expires_after_the_window(client, user):
    for _ in range(5):
        attempt(client, user.email, WRONG)
    past = utcnow() - timedelta(minutes=16)
    db.session.execute(update(SignInAttempt).values(at=past))
    db.session.execute(update(StaffUser).values(locked_until=past + timedelta(minutes=15)))
    db.session.commit()
    assert attempt(client, user.email, factories.STAFF_PASSWORD).status_code == 302


def test_failures_before_a_successful_sign_in_do_not_count(client, user):
    for _ in range(4):
        attempt(client, user.email, WRONG)
    assert attempt(client, user.email, factories.STAFF_PASSWORD).status_code == 302
    client.post("/sign-out")
    for _ in range(4):
        assert NO_MATCH in attempt(client, user.email, WRONG).get_data(as_text=True)


def test_lock_message_counts_down_the_minutes_left(client, user):
    user.locked_until = utcnow() + timedelta(minutes=3, seconds=30)
    db.session.commit()
    page = attempt(client, user.email, WRONG).get_data(as_text=True)
    assert "locked for 4 minutes" in page


def test_unknown_email_gets_the_same_message_and_lockout_as_a_real_one(client, user):
    unknown = "nobody@clinic.example"
    pages = [attempt(client, unknown, WRONG).get_data(as_text=True) for _ in range(6)]
    assert all(NO_MATCH in page for page in pages[:4])
    assert LOCKED in pages[4] and LOCKED in pages[5]
    assert actions().count("auth.account_locked") == 1
    events = db.session.execute(select(AuditEvent)).scalars().all()
    assert all(event.actor_id is None and unknown not in event.detail for event in events)


def test_failed_sign_in_audit_names_the_account_it_targeted(client, user):
    attempt(client, user.email, WRONG)
    event = db.session.execute(select(AuditEvent)).scalar_one()
    assert (event.action, event.actor_id, event.actor_email) == (
        "auth.sign_in_failed", user.id, user.email)


def test_unknown_email_does_the_same_password_work(client, user, monkeypatch):
    checked: list[str] = []

    def spy(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return False

    monkeypatch.setattr(signin, "verify_password", spy)
    attempt(client, "nobody@clinic.example", WRONG)
    attempt(client, user.email, WRONG)
    assert checked == [signin.dummy_hash(), user.password_hash]


def test_many_failures_from_one_ip_block_it_with_429(make_app):
    app = make_app(LOGIN_MAX_FAILURES_PER_IP=3)
    with app.app_context():
        practice = factories.make_practice()
        user = factories.make_staff(practice)
        client = app.test_client()
        for n in range(2):
            assert attempt(client, f"guess{n}@clinic.example", WRONG).status_code == 200
        third = attempt(client, "guess2@clinic.example", WRONG)
        assert third.status_code == 429
        assert "Too many failed sign-ins from your network. Try again in 15 minutes." in \
            third.get_data(as_text=True)
        blocked = attempt(client, user.email, factories.STAFF_PASSWORD)
        assert blocked.status_code == 429
        assert client.get("/").status_code == 302
        assert actions().count("auth.ip_blocked") == 1

        other_ip = attempt(client, user.email, factories.STAFF_PASSWORD,
                           **{"X-Forwarded-For": "203.0.113.7"})
        assert other_ip.status_code == 429, "without TRUST_PROXY the header is ignored"


def test_ip_block_lifts_when_the_failures_age_out(make_app):
    app = make_app(LOGIN_MAX_FAILURES_PER_IP=3)
    with app.app_context():
        user = factories.make_staff(factories.make_practice())
        client = app.test_client()
        for n in range(3):
            attempt(client, f"guess{n}@clinic.example", WRONG)
        db.session.execute(update(SignInAttempt).values(at=utcnow() - timedelta(minutes=16)))
        db.session.commit()
        assert attempt(client, user.email, factories.STAFF_PASSWORD).status_code == 302


def test_trusted_proxy_supplies_the_client_ip(make_app):
    app = make_app(TRUST_PROXY=True)
    with app.app_context():
        factories.make_practice()
        client = app.test_client()
        attempt(client, "someone@clinic.example", WRONG,
                **{"X-Forwarded-For": "203.0.113.9"})
        assert db.session.execute(select(SignInAttempt.ip)).scalar_one() == "203.0.113.9"
        event = db.session.execute(select(AuditEvent)).scalar_one()
        assert event.ip == "203.0.113.9"


def test_sign_in_form_names_a_missing_field(client, practice):
    page = client.post("/sign-in", data={"email": "", "password": "x"})
    assert page.status_code == 200
    assert 'aria-invalid="true"' in page.get_data(as_text=True)
    assert db.session.execute(select(SignInAttempt)).first() is None


def test_next_only_goes_to_our_own_pages(client, user):
    data = {"email": user.email, "password": factories.STAFF_PASSWORD}
    response = client.post("/sign-in?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/"


def test_sign_out_ends_the_session_and_is_audited(client, user):
    attempt(client, user.email, factories.STAFF_PASSWORD)
    response = client.post("/sign-out", follow_redirects=True)
    assert "You are signed out." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert actions() == ["auth.sign_in", "auth.sign_out"]


def test_refusals_are_in_spanish_for_spanish_browsers(app, client, user):
    with app.test_request_context(), force_locale("es"):
        no_match = gettext(NO_MATCH)
        locked = ngettext(LOCKED.replace("15 minutes", "%(num)d minute"),
                          LOCKED.replace("15", "%(num)d"), 15)
    assert no_match != NO_MATCH and locked != LOCKED, "missing Spanish translation"
    headers = {"Accept-Language": "es"}
    first = attempt(client, user.email, WRONG, **headers).get_data(as_text=True)
    assert html.escape(no_match, quote=True) in first or no_match in first
    for _ in range(4):
        page = attempt(client, user.email, WRONG, **headers).get_data(as_text=True)
    assert html.escape(locked, quote=True) in page or locked in page
