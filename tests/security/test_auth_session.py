"""Session rules: idle sign-out, cookie flags, password change, CSRF refusal.

These tests run requests with no app context held open by the test, as in production: a held
context would share ``g`` (and with it Flask-Login's cached user and Flask-WTF's token) between
requests and between clients, hiding exactly the session changes under test.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.security.models import AuditEvent, StaffSession, StaffUser
from app.security.passwords import verify_password
from tests import factories

NEW_PASSWORD = "a brand new long passphrase"


def sign_in(client, email: str, password: str = factories.STAFF_PASSWORD):
    return client.post("/sign-in", data={"email": email, "password": password})


@pytest.fixture
def move_clock(monkeypatch):
    """``move_clock(minutes)``: "now" (app.core.clock.utcnow) moves on, never the wall clock."""
    start = clock.utcnow()
    moved = [timedelta()]
    monkeypatch.setattr(clock, "utcnow", lambda: start + moved[0])

    def move(minutes: float) -> None:
        moved[0] += timedelta(minutes=minutes)

    return move


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.execute(
            select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


def stored_user(app, email: str) -> StaffUser:
    with app.app_context():
        user = db.session.execute(select(StaffUser).filter_by(email=email)).scalar_one()
        db.session.expunge(user)
        return user


def ended_reasons(app, user_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.execute(
            select(StaffSession.ended_reason).where(StaffSession.user_id == user_id,
                                                    StaffSession.ended_at.is_not(None))
            .order_by(StaffSession.id)).scalars())


@pytest.fixture
def build(make_app):
    """``build(**settings)`` → (app, email of a front-desk user), with no context held."""

    def make(**settings: object):
        app = make_app(**settings)
        with app.app_context():
            email = factories.make_staff(factories.make_practice()).email
        return app, email

    return make


@pytest.fixture
def app_and_email(build):
    return build()


def test_idle_staff_are_signed_out_with_a_message(app_and_email, move_clock):
    app, email = app_and_email
    client = app.test_client()
    sign_in(client, email)
    move_clock(16)
    response = client.get("/?view=today")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out after 15 minutes of inactivity." in page
    assert client.get("/").status_code == 302
    assert actions(app)[-1] == "auth.idle_sign_out"


def test_activity_within_the_idle_limit_keeps_the_session(app_and_email, move_clock):
    app, email = app_and_email
    client = app.test_client()
    sign_in(client, email)
    move_clock(14)
    assert client.get("/").status_code == 200
    move_clock(14)  # each request restarted the idle time
    assert client.get("/").status_code == 200
    assert "auth.idle_sign_out" not in actions(app)


def test_idle_limit_follows_the_setting(build, move_clock):
    app, email = build(SESSION_IDLE_MINUTES=2)
    client = app.test_client()
    sign_in(client, email)
    move_clock(3)
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "You were signed out after 2 minutes of inactivity." in page


def session_cookie(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_session_cookie_is_httponly_and_samesite_lax(app_and_email):
    app, email = app_and_email
    cookie = session_cookie(sign_in(app.test_client(), email))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain-http development address


def test_session_cookie_is_secure_behind_https(build):
    app, email = build(PUBLIC_BASE_URL="https://frontdesk.example")
    cookie = session_cookie(sign_in(app.test_client(), email))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def change(client, current: str, new: str, again: str | None = None):
    return client.post("/account/password", data={
        "current_password": current, "new_password": new,
        "confirm_password": new if again is None else again})


def test_password_change_keeps_this_session_and_ends_the_others(app_and_email):
    app, email = app_and_email
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, email)
    sign_in(elsewhere, email)
    assert here.get("/account/password").status_code == 200
    assert elsewhere.get("/").status_code == 200
    response = change(here, factories.STAFF_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    user = stored_user(app, email)
    assert ended_reasons(app, user.id) == ["password_change", "password_change"]
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert "auth.password_changed" in actions(app)
    fresh = app.test_client()
    assert sign_in(fresh, email, factories.STAFF_PASSWORD).status_code == 200
    assert sign_in(fresh, email, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(("current", "new", "again", "message"), [
    ("wrong password here", NEW_PASSWORD, None, "That is not your current password."),
    (factories.STAFF_PASSWORD, "short", None, "Use at least 12 characters."),
    (factories.STAFF_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "The two new passwords differ."),
])
def test_password_change_refusals_name_the_problem(app_and_email, current, new, again,
                                                   message):
    app, email = app_and_email
    client = app.test_client()
    sign_in(client, email)
    page = change(client, current, new, again)
    assert page.status_code == 200
    assert message in page.get_data(as_text=True)
    assert ended_reasons(app, stored_user(app, email).id) == []


def test_password_page_needs_a_sign_in(client, practice):
    response = client.get("/account/password")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert match, "page has no CSRF token"
    return match.group(1)


def test_post_without_csrf_token_is_refused_with_a_clear_page(build):
    app, email = build(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    refused = sign_in(client, email)
    assert refused.status_code == 400
    assert "This form could not be accepted" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302

    token = csrf_token(client.get("/sign-in").get_data(as_text=True))
    accepted = client.post("/sign-in", data={"email": email, "csrf_token": token,
                                             "password": factories.STAFF_PASSWORD})
    assert accepted.status_code == 302
    assert client.get("/").status_code == 200

    assert client.post("/sign-out").status_code == 400
    assert client.get("/").status_code == 200, "a refused sign-out changed nothing"
    token = csrf_token(client.get("/").get_data(as_text=True))
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_disabling_an_account_ends_its_open_session(app_and_email):
    app, email = app_and_email
    client = app.test_client()
    sign_in(client, email)
    assert client.get("/").status_code == 200
    with app.app_context():
        from app.security import staff
        staff.update_staff(user_id=stored_user(app, email).id, active=False)
    assert client.get("/").status_code == 302
