"""Appointment type services: checks per field, create and update, deactivation, and which
providers offer a type."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.practice.models import Practice
from app.scheduling import appointment_types, calendars, slots
from app.scheduling.appointment_types import (
    AppointmentTypeFields,
    AppointmentTypeInputError,
    AppointmentTypeNotFound,
)
from app.scheduling.calendars import WeeklyInterval
from app.scheduling.models import AppointmentType, provider_appointment_type
from tests import factories

CHECKUP = AppointmentTypeFields(name="Checkup", duration_minutes=30, buffer_before_minutes=5,
                                buffer_after_minutes=10, for_new_patients=True,
                                bookable_online=False, min_notice_minutes=60, max_days_ahead=30)


def create(practice: Practice, fields: AppointmentTypeFields = CHECKUP,
           provider_ids: list[int] | None = None) -> AppointmentType:
    return appointment_types.create_appointment_type(
        practice_id=practice.id, fields=fields, provider_ids=provider_ids or [])


def errors_for(practice: Practice, **changes: object) -> dict[str, str]:
    with pytest.raises(AppointmentTypeInputError) as raised:
        create(practice, replace(CHECKUP, **changes))
    return raised.value.errors


def type_count() -> int:
    return _db.session.execute(select(func.count()).select_from(AppointmentType)).scalar_one()


def offered_by(type_id: int) -> set[int]:
    table = provider_appointment_type
    return set(_db.session.execute(select(table.c.provider_id).where(
        table.c.appointment_type_id == type_id)).scalars())


def test_create_stores_every_field_and_the_providers(practice: Practice) -> None:
    rivera, chen = factories.make_provider(practice), factories.make_provider(practice)

    kind = create(practice, replace(CHECKUP, name="  New   patient visit "),
                  provider_ids=[rivera.id, chen.id])

    _db.session.expire_all()
    stored = _db.session.get(AppointmentType, kind.id)
    assert (stored.name, stored.duration_minutes, stored.buffer_before_minutes,
            stored.buffer_after_minutes, stored.for_new_patients, stored.bookable_online,
            stored.active, stored.min_notice_minutes, stored.max_days_ahead) == (
        "New patient visit", 30, 5, 10, True, False, True, 60, 30)
    assert offered_by(kind.id) == {rivera.id, chen.id}


@pytest.mark.parametrize(("changes", "field"), [
    ({"duration_minutes": 0}, "duration_minutes"),
    ({"duration_minutes": 481}, "duration_minutes"),
    ({"duration_minutes": 32}, "duration_minutes"),
    ({"buffer_before_minutes": -5}, "buffer_before_minutes"),
    ({"buffer_after_minutes": 121}, "buffer_after_minutes"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"min_notice_minutes": -1}, "min_notice_minutes"),
    ({"max_days_ahead": 0}, "max_days_ahead"),
    ({"max_days_ahead": 731}, "max_days_ahead"),
])
def test_a_bad_value_names_its_field_and_stores_nothing(practice: Practice, changes: dict,
                                                        field: str) -> None:
    assert list(errors_for(practice, **changes)) == [field]
    assert type_count() == 0


def test_several_bad_fields_are_reported_together(practice: Practice) -> None:
    errors = errors_for(practice, name="", duration_minutes=7, buffer_after_minutes=500)
    assert set(errors) == {"name", "duration_minutes", "buffer_after_minutes"}
    assert "5 to 480 minutes, in steps of 5" in errors["duration_minutes"]


def test_duration_and_buffers_stay_under_the_slot_engines_reach(practice: Practice) -> None:
    errors = errors_for(practice, duration_minutes=480, buffer_before_minutes=120,
                        buffer_after_minutes=120)
    assert errors == {"duration_minutes": "With its buffers an appointment must take less "
                                          "than 12 hours."}
    assert create(practice, replace(CHECKUP, duration_minutes=480, buffer_before_minutes=120,
                                    buffer_after_minutes=115)).id


def test_notice_must_leave_room_before_the_horizon(practice: Practice) -> None:
    errors = errors_for(practice, min_notice_minutes=2 * 24 * 60, max_days_ahead=2)
    assert list(errors) == ["min_notice_minutes"]


def test_a_name_patients_see_may_not_carry_clinical_detail(practice: Practice) -> None:
    assert "Root canal" in errors_for(practice, name="Root canal follow-up")["name"]


def test_names_are_unique_among_active_types_ignoring_case(practice: Practice) -> None:
    create(practice)
    assert list(errors_for(practice, name="CHECKUP")) == ["name"]


def test_providers_must_belong_to_the_practice(practice: Practice) -> None:
    elsewhere = factories.make_provider(factories.make_practice(name="Other practice"))
    with pytest.raises(AppointmentTypeInputError) as raised:
        create(practice, provider_ids=[elsewhere.id])
    assert list(raised.value.errors) == ["provider_ids"]
    assert type_count() == 0


def test_an_active_online_type_needs_a_provider(practice: Practice, login) -> None:
    errors = errors_for(practice, bookable_online=True)
    assert list(errors) == ["provider_ids"] and "nobody offers" in errors["provider_ids"]
    assert type_count() == 0
    create(practice, replace(CHECKUP, bookable_online=True, active=False))  # kept for later
    create(practice, replace(CHECKUP, name="Staff only"))  # staff book it

    page = login("manager").post("/settings/calendars/types/new", data={
        "name": "Whitening", "duration_minutes": "30", "buffer_before_minutes": "0",
        "buffer_after_minutes": "0", "bookable_online": "y", "active": "y",
        "min_notice_minutes": "120", "max_days_ahead": "90"})
    assert page.status_code == 400
    assert "patients cannot book online a visit nobody offers" in page.get_data(as_text=True)
    assert type_count() == 2


def test_a_type_nobody_offers_never_appears_on_the_booking_pages(practice: Practice,
                                                                  client) -> None:
    location = factories.make_location(practice, timezone="America/Chicago")
    provider = factories.make_provider(practice, locations=[location])
    offered = create(practice, replace(CHECKUP, name="Exam", bookable_online=True),
                     provider_ids=[provider.id])
    nobody = factories.make_appointment_type(practice, name="Whitening")  # older data
    assert nobody.bookable_online and nobody.active

    page = client.get("/book/").get_data(as_text=True)

    assert offered.name in page and "Whitening" not in page
    assert client.get(f"/book/location?type={nobody.id}").status_code == 404


def test_update_changes_fields_and_who_offers_it_leaving_other_types_alone(
        practice: Practice) -> None:
    rivera, chen = factories.make_provider(practice), factories.make_provider(practice)
    cleaning = create(practice, replace(CHECKUP, name="Cleaning"), provider_ids=[rivera.id])
    kind = create(practice, provider_ids=[rivera.id])

    appointment_types.update_appointment_type(
        practice_id=practice.id, appointment_type_id=kind.id,
        fields=replace(CHECKUP, duration_minutes=45), provider_ids=[chen.id])

    _db.session.expire_all()
    assert _db.session.get(AppointmentType, kind.id).duration_minutes == 45
    assert offered_by(kind.id) == {chen.id}
    assert offered_by(cleaning.id) == {rivera.id}


def test_update_may_keep_its_own_name(practice: Practice) -> None:
    kind = create(practice)
    appointment_types.update_appointment_type(
        practice_id=practice.id, appointment_type_id=kind.id,
        fields=replace(CHECKUP, name="checkup"), provider_ids=[])
    _db.session.expire_all()
    assert _db.session.get(AppointmentType, kind.id).name == "checkup"


def test_a_deactivated_type_offers_no_slots_and_frees_its_name(practice: Practice) -> None:
    location = factories.make_location(practice, timezone="America/Chicago")
    provider = factories.make_provider(practice, locations=[location])
    kind = create(practice, replace(CHECKUP, min_notice_minutes=0, max_days_ahead=365),
                  provider_ids=[provider.id])
    calendars.set_weekly_hours(practice_id=practice.id, provider_id=provider.id,
                               location_id=location.id,
                               intervals=[WeeklyInterval(d, time(9), time(12)) for d in range(7)])
    start = datetime(2027, 1, 4, tzinfo=UTC)

    def open_slots() -> list[slots.Slot]:
        return slots.find_open_slots(appointment_type_id=kind.id, location_id=location.id,
                                     start=start, end=start + timedelta(days=1),
                                     now=start - timedelta(days=1))

    assert open_slots()
    appointment_types.update_appointment_type(
        practice_id=practice.id, appointment_type_id=kind.id,
        fields=replace(CHECKUP, active=False), provider_ids=[provider.id])

    assert open_slots() == []
    assert create(practice).id != kind.id  # the name is free again
    assert type_count() == 2  # deactivated, not deleted


def test_another_practices_type_is_not_found(practice: Practice) -> None:
    kind = create(factories.make_practice(name="Other practice"))
    with pytest.raises(AppointmentTypeNotFound):
        appointment_types.update_appointment_type(
            practice_id=practice.id, appointment_type_id=kind.id, fields=CHECKUP,
            provider_ids=[])
