"""The audit actor and request ids are set once per unit of work (``audit_context``), not read
from Flask's request or Flask-Login inside ``audit.record``."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.security import audit
from app.security.models import AuditEvent
from tests import factories


def last_event() -> AuditEvent:
    return db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()


def test_a_staff_pages_events_name_the_signed_in_member_and_the_request(app, practice):
    user = factories.make_staff(practice, role="front_desk", email="desk@clinic.example")
    client = app.test_client()
    client.post("/sign-in", data={"email": user.email, "password": factories.STAFF_PASSWORD})
    response = client.get("/patients?q=Smith", headers={"X-Request-ID": "desk-search-1"})
    assert response.status_code == 200
    event = last_event()
    assert event.action == audit.Action.PATIENT_SEARCH
    assert (event.actor_id, event.actor_email, event.actor_role) == (
        user.id, "desk@clinic.example", "front_desk")
    assert event.request_id == response.headers["X-Request-ID"]
    assert event.client_request_id == "desk-search-1"
    assert event.ip == "127.0.0.1"


def test_work_outside_a_request_is_the_systems_even_after_a_staff_request(app, practice):
    user = factories.make_staff(practice, role="front_desk")
    client = app.test_client()
    client.post("/sign-in", data={"email": user.email, "password": factories.STAFF_PASSWORD})
    client.get("/patients?q=Smith")
    audit.record(audit.Action.DEMO_SEED, detail={"patients": 0})  # as a CLI command or job
    db.session.commit()
    event = last_event()
    assert event.action == audit.Action.DEMO_SEED
    assert (event.actor_id, event.actor_email, event.actor_role) == (None, None, None)
    assert (event.ip, event.request_id, event.client_request_id) == (None, None, None)


def test_after_signing_out_the_request_has_no_actor_left(app, practice):
    user = factories.make_staff(practice, role="front_desk")
    client = app.test_client()
    client.post("/sign-in", data={"email": user.email, "password": factories.STAFF_PASSWORD})
    client.post("/sign-out")
    assert last_event().action == "auth.sign_out"
    assert last_event().actor_id == user.id  # passed explicitly: the member signing out
    anonymous = client.get("/patients?q=Smith")
    assert anonymous.status_code == 302  # to the sign-in page, nothing audited as them
    assert last_event().action == "auth.sign_out"


def test_the_audit_module_reads_no_request_and_no_signed_in_user() -> None:
    source = Path(audit.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "app" in imported  # the walk sees the module's imports
    assert not imported & {"flask", "flask_login"}
