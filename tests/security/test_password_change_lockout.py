"""Finding 7: guesses of the current password on /account/password are counted and locked
like sign-ins (app/security/signin.py), and audited.

Before, the form answered "That is not your current password." as often as it was asked: a
stolen session could try passwords without limit.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.security.models import AuditEvent, StaffSession, StaffUser
from app.security.passwords import verify_password
from tests import factories

WRONG = "not the right password at all"
NEW = "a brand new long passphrase"
LOCKED = "This account is locked for 15 minutes after repeated failed sign-ins."


def change(client, current: str):
    return client.post("/account/password", data={
        "current_password": current, "new_password": NEW, "confirm_password": NEW})


def actions() -> list[str]:
    return list(db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


@pytest.fixture
def user(practice):
    return factories.make_staff(practice, role="front_desk")


@pytest.fixture
def signed_in(app, user):
    client = app.test_client()
    assert client.post("/sign-in", data={"email": user.email,
                                         "password": factories.STAFF_PASSWORD}).status_code == 302
    return client


def test_repeated_wrong_current_passwords_lock_the_account(app, signed_in, user):
    for _ in range(4):
        page = change(signed_in, WRONG).get_data(as_text=True)
        assert "That is not your current password." in page
    assert LOCKED in change(signed_in, WRONG).get_data(as_text=True)

    refused = change(signed_in, factories.STAFF_PASSWORD)
    assert LOCKED in refused.get_data(as_text=True), "the right password waits for the lock"
    stored = db.session.get(StaffUser, user.id)
    assert verify_password(stored.password_hash, factories.STAFF_PASSWORD)
    assert db.session.execute(select(StaffSession.ended_at)).scalars().all() == [None], \
        "no session was ended"

    other = app.test_client()
    page = other.post("/sign-in", data={"email": user.email,
                                        "password": factories.STAFF_PASSWORD})
    assert LOCKED in page.get_data(as_text=True), "the lock holds for sign-in too"

    trail = actions()
    assert trail.count("auth.password_change_failed") == 6
    assert trail.count("auth.account_locked") == 1
    reasons = list(db.session.execute(
        select(AuditEvent.detail).where(AuditEvent.action == "auth.password_change_failed")
        .order_by(AuditEvent.id)).scalars())
    assert reasons[-1] == '{"reason":"account_locked"}'


def test_the_lock_lifts_after_the_window(signed_in, user, monkeypatch):
    for _ in range(5):
        change(signed_in, WRONG)
    later = clock.utcnow() + timedelta(minutes=16)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    # The session would be idle by then; the idle sign-out is not what is tested here.
    monkeypatch.setitem(signed_in.application.config, "SESSION_IDLE_MINUTES", 60)
    assert change(signed_in, factories.STAFF_PASSWORD).status_code == 302
    assert verify_password(db.session.get(StaffUser, user.id).password_hash, NEW)


def test_a_right_current_password_clears_earlier_failures(signed_in, user):
    for _ in range(4):
        change(signed_in, WRONG)
    assert change(signed_in, factories.STAFF_PASSWORD).status_code == 302
    signed_in.post("/sign-in", data={"email": user.email, "password": NEW})
    for _ in range(4):
        page = signed_in.post("/account/password", data={
            "current_password": WRONG, "new_password": NEW + "2",
            "confirm_password": NEW + "2"}).get_data(as_text=True)
        assert "That is not your current password." in page
