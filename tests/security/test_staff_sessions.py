"""Finding 1: staff sessions live on the server, and ending one ends every copy of its cookie.

Before, the signed cookie *was* the session: a copy taken before sign-out kept working from
another browser, forever as long as it was used (each request refreshed it), and one taken
before an account was disabled worked again once it was re-enabled.

Requests run with no app context held open by the test (see test_auth_session.py).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app.core import clock
from app.extensions import db
from app.security import sessions, staff
from app.security.models import StaffSession, StaffUser
from tests import factories

NEW_PASSWORD = "a brand new long passphrase"


@pytest.fixture
def move_clock(monkeypatch):
    """``move_clock(hours=..., minutes=...)``: "now" moves on; the wall clock is not used."""
    start = clock.utcnow()
    moved = [timedelta()]
    monkeypatch.setattr(clock, "utcnow", lambda: start + moved[0])

    def move(**delta: float) -> None:
        moved[0] += timedelta(**delta)

    return move


@pytest.fixture
def build(make_app):
    def make(**settings: object):
        app = make_app(**settings)
        with app.app_context():
            practice = factories.make_practice()
            factories.make_staff(practice, role="admin", email="boss@clinic.example")
            user = factories.make_staff(practice, email="desk@clinic.example")
            return app, user.id

    return make


def signed_in(app):
    client = app.test_client()
    response = client.post("/sign-in", data={"email": "desk@clinic.example",
                                             "password": factories.STAFF_PASSWORD})
    assert response.status_code == 302
    return client


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    assert thief.get("/").status_code == 200, "the copy works while the session is open"
    return thief


def session_rows(app) -> list[StaffSession]:
    with app.app_context():
        rows = list(db.session.execute(select(StaffSession).order_by(StaffSession.id)).scalars())
        for row in rows:
            db.session.expunge(row)
        return rows


def test_a_copied_cookie_is_refused_after_sign_out(build):
    app, _ = build()
    client = signed_in(app)
    thief = copy_of(app, client)
    client.post("/sign-out")
    assert thief.get("/").status_code == 302
    assert client.get("/").status_code == 302
    (row,) = session_rows(app)
    assert row.ended_reason == "sign_out"


def test_a_copied_cookie_is_refused_after_a_password_change(build):
    app, _ = build()
    client = signed_in(app)
    thief = copy_of(app, client)
    old_cookie = client.get_cookie("session").value
    response = client.post("/account/password", data={
        "current_password": factories.STAFF_PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert thief.get("/").status_code == 302
    assert client.get("/").status_code == 200, "the browser that changed it goes on"
    assert client.get_cookie("session").value != old_cookie
    first, second = session_rows(app)
    assert (first.ended_reason, second.ended_at) == ("password_change", None)


def test_a_copied_cookie_is_refused_after_disabling_even_once_re_enabled(build):
    app, user_id = build()
    thief = copy_of(app, signed_in(app))
    with app.app_context():
        staff.update_staff(user_id=user_id, active=False)
    assert thief.get("/").status_code == 302
    with app.app_context():
        staff.update_staff(user_id=user_id, active=True)
    assert thief.get("/").status_code == 302
    assert [row.ended_reason for row in session_rows(app)] == ["disabled"]


def test_an_admin_setting_the_password_ends_the_sessions(build):
    app, user_id = build()
    thief = copy_of(app, signed_in(app))
    admin = app.test_client()
    admin.post("/sign-in", data={"email": "boss@clinic.example",
                                 "password": factories.STAFF_PASSWORD})
    with app.app_context():
        staff.set_password(user_id=user_id, password=NEW_PASSWORD)
    assert thief.get("/").status_code == 302
    assert admin.get("/").status_code == 200, "other accounts' sessions are untouched"


def test_a_session_ends_at_its_absolute_lifetime_however_active(build, move_clock):
    app, _ = build(SESSION_IDLE_MINUTES=60, SESSION_ABSOLUTE_HOURS=12)
    client = signed_in(app)
    for _ in range(23):  # active every half hour for 11.5 hours
        move_clock(minutes=30)
        assert client.get("/").status_code == 200
    move_clock(minutes=29)
    assert client.get("/").status_code == 200
    move_clock(minutes=2)  # 12 h 1 min after sign-in
    response = client.get("/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_the_lifetime_follows_the_setting(build, move_clock):
    app, _ = build(SESSION_IDLE_MINUTES=120, SESSION_ABSOLUTE_HOURS=1)
    client = signed_in(app)
    move_clock(minutes=61)
    assert client.get("/").status_code == 302


def test_the_cookie_holds_a_random_id_and_the_table_only_its_hash(build):
    app, user_id = build()
    client = signed_in(app)
    with client.session_transaction() as cookie:
        session_id = cookie["_user_id"]
    assert not session_id.startswith(f"{user_id}:") and len(session_id) >= 40
    (row,) = session_rows(app)
    assert row.id_hash == hashlib.sha256(session_id.encode()).hexdigest()
    assert session_id not in (row.id_hash, row.user_agent or "")
    assert row.user_id == user_id and row.ip == "127.0.0.1"


def test_old_sessions_are_pruned_a_day_after_they_end(build, move_clock):
    app, user_id = build(SESSION_IDLE_MINUTES=60 * 24 * 7, SESSION_ABSOLUTE_HOURS=12)
    signed_in(app).post("/sign-out")
    kept = signed_in(app)
    with app.app_context():
        assert sessions.prune() == 0
    move_clock(hours=12 + 25)  # the kept one expired 25 hours ago
    with app.app_context():
        user = db.session.get(StaffUser, user_id)
        _, fresh = sessions.start(user=user, absolute_hours=12, ip=None, user_agent=None)
        assert sessions.prune() == 2, "the signed-out one and the expired one"
        assert sessions.find_live(fresh) is not None
    assert kept.get("/").status_code == 302
    assert len(session_rows(app)) == 1


def test_a_request_looks_its_session_up_once_and_writes_activity_once_a_minute(build,
                                                                               move_clock):
    """The session and its account come in one query, and a request within a minute of the
    recorded activity writes nothing: a busy screen does not write the row every request."""
    app, _ = build()
    client = signed_in(app)
    (row,) = session_rows(app)
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def note(_conn, _cursor, statement, *_rest) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        move_clock(seconds=30)
        assert client.get("/account/password").status_code == 200
        assert [s for s in seen if "staff_session" in s or "FROM staff_user" in s] == [
            next(s for s in seen if s.startswith("SELECT staff_session.id"))]
        assert session_rows(app)[0].last_seen_at == row.last_seen_at
        move_clock(seconds=31)
        assert client.get("/account/password").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert session_rows(app)[0].last_seen_at == row.last_seen_at + timedelta(seconds=61)
