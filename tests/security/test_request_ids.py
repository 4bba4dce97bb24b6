"""Finding 14: the request id in the audit trail is ours; a client's X-Request-ID is kept apart.

Before, a well-formed client X-Request-ID became the request's id in every audit row, so a
client could make its requests look like, or collide with, other requests in the trail.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.security.models import AuditEvent
from tests import factories


def sign_in(client, email: str, request_id: str):
    return client.post("/sign-in", data={"email": email, "password": factories.STAFF_PASSWORD},
                       headers={"X-Request-ID": request_id})


@pytest.fixture
def user(practice):
    return factories.make_staff(practice, role="front_desk")


def last_event() -> AuditEvent:
    return db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()


def test_the_audit_row_carries_our_id_and_the_clients_apart(client, user):
    response = sign_in(client, user.email, "abc12345-req")
    event = last_event()
    assert event.action == "auth.sign_in"
    assert event.request_id != "abc12345-req"
    assert str(uuid.UUID(event.request_id)) == event.request_id
    assert response.headers["X-Request-ID"] == event.request_id
    assert event.client_request_id == "abc12345-req"


def test_two_requests_sending_the_same_id_get_different_ids(client, user):
    sign_in(client, user.email, "same-id-1234")
    client.post("/sign-out", headers={"X-Request-ID": "same-id-1234"})
    first, second = db.session.execute(
        select(AuditEvent).order_by(AuditEvent.id)).scalars().all()[-2:]
    assert first.request_id != second.request_id
    assert first.client_request_id == second.client_request_id == "same-id-1234"


@pytest.mark.parametrize("sent", [
    "x" * 65, "<script>", "id with spaces", "id\u00e9", "a;b=c", "line\\nbreak", "",
])
def test_a_client_id_too_long_or_with_odd_characters_is_not_kept(client, user, sent):
    response = sign_in(client, user.email, sent)
    event = last_event()
    assert event.client_request_id is None
    assert event.request_id == response.headers["X-Request-ID"] != sent


def test_the_client_id_is_part_of_the_chain(client, user, runner):
    sign_in(client, user.email, "abc12345-req")
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    db.session.execute(text("UPDATE audit_event SET client_request_id = 'other-id-99'"))
    db.session.commit()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_the_audit_export_has_both_ids(app, client, practice, user):
    factories.make_staff(practice, role="admin", email="boss@clinic.example")
    sign_in(client, user.email, "abc12345-req")
    admin = app.test_client()
    admin.post("/sign-in", data={"email": "boss@clinic.example",
                                 "password": factories.STAFF_PASSWORD})
    csv = admin.get("/admin/audit/export.csv").get_data(as_text=True)
    header, *rows = csv.splitlines()
    assert "request_id,client_request_id" in header
    assert any("abc12345-req" in row for row in rows)
