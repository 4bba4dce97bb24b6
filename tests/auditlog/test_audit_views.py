"""The admin audit screen and its CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.auditlog.queries import EXPORT_COLUMNS
from app.core.tenancy import acting_for
from app.extensions import db
from app.security import audit
from app.security.models import AuditEvent
from app.security.permissions import Role
from tests import factories

MARCH_9_EVENING_CHICAGO = datetime(2024, 3, 10, 4, 30, tzinfo=UTC)   # 22:30 on the 9th there
MARCH_10_MORNING_CHICAGO = datetime(2024, 3, 10, 15, 0, tzinfo=UTC)  # 09:00 on the 10th there


@pytest.fixture
def admin(login):  # noqa: ANN001, ANN201
    return login(Role.ADMIN)


@pytest.fixture
def trail(practice):  # noqa: ANN001, ANN201
    """Two staff members' events about two patients, on two days in the practice's zone."""
    alice = factories.make_staff(practice, role="front_desk", email="alice@clinic.example")
    bob = factories.make_staff(practice, role="billing", email="bob@clinic.example")
    first = factories.make_patient(practice, given_name="Rosa")
    second = factories.make_patient(practice, given_name="Tomas")
    audit.record("patient.view", actor=alice, patient_id=first.id, object_type="patient",
                 object_id="marker-alice", occurred_at=MARCH_9_EVENING_CHICAGO)
    audit.record("balance.adjust", actor=bob, patient_id=second.id, object_type="ledger",
                 object_id="marker-bob", occurred_at=MARCH_10_MORNING_CHICAGO)
    db.session.commit()
    return {"alice": alice, "bob": bob, "first": first, "second": second}


def _last_event() -> AuditEvent:
    return db.session.execute(
        select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()


def test_admin_sees_events_newest_first_in_the_practice_zone(admin, trail):
    page = admin.get("/admin/audit").get_data(as_text=True)

    assert "alice@clinic.example" in page and "bob@clinic.example" in page
    assert page.index("marker-bob") < page.index("marker-alice")
    assert "2024-03-09 22:30:00" in page
    assert "Central Time" in page


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ("email=ALICE@clinic.example", "marker-alice", "marker-bob"),
    ("action=balance.adjust", "marker-bob", "marker-alice"),
    ("date_from=2024-03-10&date_to=2024-03-10", "marker-bob", "marker-alice"),
    ("date_to=2024-03-09", "marker-alice", "marker-bob"),
])
def test_filters_narrow_the_events(admin, trail, query, shown, hidden):
    response = admin.get(f"/admin/audit?{query}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert shown in page
    assert hidden not in page


def test_patient_filter_shows_the_name_and_the_look_is_audited_without_it(admin, trail):
    patient = trail["first"]

    page = admin.get(f"/admin/audit?patient_id={patient.id}").get_data(as_text=True)

    assert patient.full_name in page
    assert "marker-bob" not in page
    event = _last_event()
    assert event.action == "audit.view"
    assert event.patient_id == patient.id
    assert event.actor_role == "admin" and event.ip and event.request_id
    assert json.loads(event.detail) == {"filter": {"patient_id": patient.id}, "count": 1,
                                        "page": 1, "patient_ids": [patient.id]}
    assert patient.given_name not in event.detail


def test_events_come_fifty_to_a_page(admin, practice):
    with acting_for(practice.id):
        for n in range(55):
            audit.record("patient.search", object_type="search", object_id=f"search-{n:02d}")
    db.session.commit()

    first = admin.get("/admin/audit?action=patient.search").get_data(as_text=True)
    second = admin.get("/admin/audit?action=patient.search&page=2").get_data(as_text=True)

    assert first.count("<td>patient.search</td>") == 50
    assert "search-54" in first and "search-04" not in first
    assert second.count("<td>patient.search</td>") == 5
    assert "search-04" in second
    assert "Page 2 of 2" in second


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_other_roles_are_refused(login, role):
    client = login(role)

    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit/export.csv").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/admin/audit/export.csv")

    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_csv_export_returns_the_filtered_rows_and_is_audited(admin, trail):
    response = admin.get("/admin/audit/export.csv?email=alice@clinic.example")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [(r["actor_email"], r["role"], r["action"], r["object_id"], r["time"])
            for r in rows] == [("alice@clinic.example", "front_desk", "patient.view",
                                "marker-alice", "2024-03-10T04:30:00+00:00")]
    assert rows[0]["patient_id"] == str(trail["first"].id)
    event = _last_event()
    assert event.action == "audit.export"
    assert json.loads(event.detail) == {"filter": {"actor_email": "alice@clinic.example"},
                                        "count": 1}


def test_csv_export_defuses_spreadsheet_formulas(admin, practice):
    with acting_for(practice.id):
        audit.record("patient.view", object_type="patient", object_id='=HYPERLINK("x")')
    db.session.commit()

    body = admin.get("/admin/audit/export.csv?action=patient.view").get_data(as_text=True)

    row = next(csv.DictReader(io.StringIO(body)))
    assert row["object_id"] == "'=HYPERLINK(\"x\")"


@pytest.mark.parametrize(("query", "message"), [
    ("date_from=2024-13-45", "Not a valid date value"),
    ("date_from=2024-03-10&date_to=2024-03-01", "The end date is before the start date."),
    ("date_to=9999-12-31", "Enter a date between 1900 and 2999."),
    ("patient_id=abc", "Not a valid integer value"),
    ("patient_id=99999999999999999999", "Number must be between 1 and 2147483647."),
])
def test_bad_filters_show_a_message_instead_of_events(admin, trail, query, message):
    before = db.session.execute(select(func.count(AuditEvent.id))).scalar_one()

    response = admin.get(f"/admin/audit?{query}")
    export = admin.get(f"/admin/audit/export.csv?{query}")

    assert response.status_code == 400 and export.status_code == 400
    assert message in response.get_data(as_text=True)
    assert "marker-alice" not in response.get_data(as_text=True)
    assert db.session.execute(select(func.count(AuditEvent.id))).scalar_one() == before
