"""Lists of patients are audited with who was shown (security review finding 6): one event
per list, its detail naming the patients' ids, and the audit screen's patient filter finds
those events for each patient on the list."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.extensions import db
from app.patients.models import Household
from app.security import blind_index
from app.security.models import AuditEvent
from tests import factories
from tests.scheduling.test_calendar_views import at, day_page, desk  # noqa: F401 (fixture)


def last(action: str) -> AuditEvent:
    db.session.expire_all()
    return db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()


def test_a_search_records_which_patients_it_showed(login, practice):
    shown = [factories.make_patient(practice, family_name="Zyskowski", given_name=given)
             for given in ("Ana", "Bea")]
    factories.make_patient(practice, family_name="Other")
    login("front_desk").post("/patients/search", data={"q": "Zyskowski"})

    detail = json.loads(last("patient.search").detail)
    assert detail["results"] == 2
    assert sorted(detail["patient_ids"]) == sorted(p.id for p in shown)


def test_the_recent_list_records_which_patients_it_showed(login, practice):
    shown = [factories.make_patient(practice) for _ in range(3)]
    login("front_desk").get("/patients")

    assert sorted(json.loads(last("patient.search").detail)["patient_ids"]) == sorted(
        p.id for p in shown)


def test_a_calendar_day_records_which_patients_it_showed(login, desk):  # noqa: F811
    other = factories.make_patient(desk.location.practice, family_name="Zyskowski")
    for patient, hhmm in ((desk.patient, "09:00"), (other, "10:00")):
        factories.make_appointment(patient, desk.provider, desk.location,
                                   start_at=at(desk.day, hhmm))
    day_page(login("front_desk"), desk)

    detail = json.loads(last("appointment.view").detail)
    assert detail["query"] == "day"
    assert detail["patient_ids"] == sorted([desk.patient.id, other.id])


def test_the_audit_screen_finds_the_lists_a_patient_was_on(login, practice):
    first, second = (factories.make_patient(practice, family_name="Zyskowski")
                     for _ in range(2))
    stranger = factories.make_patient(practice, family_name="Other")
    admin = login("admin")
    admin.post("/patients/search", data={"q": "Zyskowski"})

    for patient, events in ((first, "1 event"), (second, "1 event"), (stranger, "0 events")):
        page = admin.get("/admin/audit", query_string={
            "patient_id": patient.id, "action": "patient.search"}).get_data(as_text=True)
        assert events in page, patient.id


def test_the_audit_screen_finds_a_record_that_showed_the_patient_as_household(login, practice):
    parent = factories.make_patient(practice, family_name="Zyskowski")
    household = Household(practice_id=practice.id, phone=parent.mobile_phone,
                          phone_index=blind_index.phone_index(parent.mobile_phone))
    db.session.add(household)
    db.session.flush()
    parent.household_id = household.id
    member = factories.make_patient(practice, family_name="Zyskowski", household_id=household.id)
    admin = login("admin")
    admin.get(f"/patients/{parent.id}")

    page = admin.get("/admin/audit", query_string={
        "patient_id": member.id, "action": "patient.view"}).get_data(as_text=True)
    assert "1 event" in page
