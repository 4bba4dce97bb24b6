"""Waitlist entries: ``join`` and ``remove`` manage them (flushed, not committed: the
caller's transaction decides); ``add_entry`` and ``remove_entry`` are the staff screen's, and
commit. A removed entry's open offers end, and its slot passes to the next batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.core.clock import utcnow
from app.extensions import db
from app.patients.models import Patient
from app.practice.models import Location, Provider
from app.scheduling.models import AppointmentType, WaitlistEntry, WaitlistOffer
from app.scheduling.waitlist.offers import SLOT_COLUMNS, offer_to_next_batches
from app.scheduling.waitlist.states import (
    EXPIRED,
    OFFERED,
    REMOVED,
    WAITING,
    WaitlistInputError,
    record_change,
)
from app.security import audit

SOURCES = ("staff", "patient")
ALL_WEEKDAYS = tuple(range(7))


def join(*, practice_id: int, patient_id: int, appointment_type_id: int, location_id: int,
         provider_ids: Iterable[int] = (), weekdays: Iterable[int] = ALL_WEEKDAYS,
         earliest_time: time | None = None, latest_time: time | None = None,
         priority: int = 0, source: str = "staff") -> WaitlistEntry:
    """Put the patient on the waitlist; raises ``WaitlistInputError`` naming bad fields. Only
    a type patients may book online can be waited for: an offer is taken by a text. A patient
    already waiting for the type at the location is refused a second entry."""
    errors: dict[str, str] = {}
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.practice_id != practice_id:
        raise WaitlistInputError({"patient_id": _l("There is no such patient in this "
                                                   "practice.")})
    kind = db.session.get(AppointmentType, appointment_type_id)
    if kind is None or kind.practice_id != practice_id:
        errors["appointment_type_id"] = _l("There is no such appointment type.")
    elif not kind.active:
        errors["appointment_type_id"] = _l("%(name)s is no longer offered.", name=kind.name)
    elif not kind.bookable_online:
        errors["appointment_type_id"] = _l("%(name)s cannot be booked by a text reply, so the "
                                           "waitlist cannot offer it.", name=kind.name)
    location = db.session.get(Location, location_id)
    if location is None or location.practice_id != practice_id:
        errors["location_id"] = _l("There is no such location.")
    providers = [db.session.get(Provider, pid) for pid in dict.fromkeys(provider_ids)]
    if any(p is None or p.practice_id != practice_id for p in providers):
        errors["provider_ids"] = _l("There is no such provider.")
    elif location is not None and any(location not in p.locations for p in providers):
        errors["provider_ids"] = _l("Every provider chosen must work at %(location)s.",
                                    location=location.name)
    chosen = set(weekdays)
    days = sorted({d for d in chosen if isinstance(d, int) and 0 <= d <= 6})
    if not days or len(days) != len(chosen):
        errors["weekdays"] = _l("Choose one or more days of the week.")
    if not isinstance(priority, int):
        errors["priority"] = _l("Use a whole number.")
    if earliest_time and latest_time and earliest_time > latest_time:
        errors["latest_time"] = _l("Must not be before the earliest time.")
    if source not in SOURCES:
        errors["source"] = f"must be one of {', '.join(SOURCES)}"
    if "appointment_type_id" not in errors and "location_id" not in errors and waiting_entry(
            practice_id=practice_id, patient_id=patient.id,
            appointment_type_id=appointment_type_id, location_id=location_id) is not None:
        errors["patient_id"] = _l("This patient is already waiting for %(type)s at "
                                  "%(location)s.", type=kind.name, location=location.name)
    if errors:
        raise WaitlistInputError(errors)
    entry = WaitlistEntry(
        practice_id=practice_id, patient_id=patient.id, appointment_type_id=appointment_type_id,
        location_id=location_id, weekdays=",".join(str(d) for d in days),
        earliest_time=earliest_time, latest_time=latest_time, priority=priority,
        status=WAITING, source=source, providers=providers)
    db.session.add(entry)
    db.session.flush()
    audit.record(audit.Action.APPOINTMENT_CHANGE, patient_id=entry.patient_id,
                 object_type="waitlist_entry", object_id=entry.id,
                 detail={"change": "waitlist_join", "source": source})
    return entry


def waiting_entry(*, practice_id: int, patient_id: int, appointment_type_id: int,
                  location_id: int) -> WaitlistEntry | None:
    """The patient's waiting entry for the type at the location, if there is one: a second
    would only send the same offers twice."""
    return db.session.execute(
        select(WaitlistEntry).where(WaitlistEntry.practice_id == practice_id,
                                    WaitlistEntry.patient_id == patient_id,
                                    WaitlistEntry.appointment_type_id == appointment_type_id,
                                    WaitlistEntry.location_id == location_id,
                                    WaitlistEntry.status == WAITING)
        .order_by(WaitlistEntry.id).limit(1)).scalar_one_or_none()


def remove(*, practice_id: int, entry_id: int, now: datetime | None = None) -> WaitlistEntry:
    """Take a waiting entry off the waitlist; its open offers end, and a slot whose batch
    thereby ended is offered to the next batch, as the sweep does. The offers are ended
    before the entry changes, in the order a YES locks them (no deadlock with one)."""
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.practice_id != practice_id:
        raise WaitlistInputError({"entry_id": _l("There is no such waitlist entry.")})
    ended = db.session.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.entry_id == entry.id, WaitlistOffer.status == OFFERED)
        .values(status=EXPIRED).returning(*SLOT_COLUMNS)).all()
    left = db.session.execute(
        update(WaitlistEntry).where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WAITING)
        .values(status=REMOVED)).rowcount
    if left != 1:  # removed before, or booked by a YES meanwhile
        raise WaitlistInputError({"entry_id": _l("This patient is no longer waiting.")})
    record_change(entry.patient_id, "waitlist_entry", entry.id, "waitlist_remove")
    offer_to_next_batches(ended, now=now or utcnow())
    return entry


def add_entry(**fields: Any) -> WaitlistEntry:
    """``join`` as a transaction of its own (the staff screen's): committed, or rolled back
    on a bad field."""
    try:
        entry = join(**fields)
    except WaitlistInputError:
        db.session.rollback()
        raise
    db.session.commit()
    return entry


def remove_entry(*, practice_id: int, entry_id: int) -> None:
    """``remove`` as a transaction of its own: committed, or rolled back on a refusal."""
    try:
        remove(practice_id=practice_id, entry_id=entry_id)
    except WaitlistInputError:
        db.session.rollback()
        raise
    db.session.commit()
