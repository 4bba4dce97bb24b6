"""What the staff waitlist screen reads: the waiting entries in the order offers go to them,
the offers made (times in the location's zone), and the choices an entry can be made from.
Each read audits the patients it shows, and commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.core.clock import utcnow
from app.extensions import db
from app.patients.models import Patient
from app.practice.models import Location, Provider
from app.scheduling.appointment_types import type_name
from app.scheduling.models import AppointmentType, WaitlistEntry, WaitlistOffer
from app.scheduling.waitlist.offers import text_waiting
from app.scheduling.waitlist.states import EXPIRED, OFFERED, WAITING
from app.security import audit


@dataclass(frozen=True)
class OfferView:
    """Who was offered what and when, for staff; times in the location's zone. ``status``
    reads ``expired`` for an offer whose time ran out unanswered."""

    offer_id: int
    entry_id: int
    patient_id: int
    patient_name: str  # "Family, Given"
    provider_id: int
    provider_name: str
    location_id: int
    location_name: str
    appointment_type_name: str
    start_at: datetime
    status: str
    offered_at: datetime
    expires_at: datetime
    responded_at: datetime | None
    text_waiting: bool = False  # held (quiet hours) or queued: the offer runs once it is sent


@dataclass(frozen=True)
class EntryView:
    """A waiting entry as the staff screen lists it; ``created_at`` in the location's zone,
    the time window in its local time of day."""

    entry_id: int
    patient_id: int
    patient_name: str  # "Family, Given"
    appointment_type_name: str
    location_name: str
    provider_names: tuple[str, ...]  # none: any provider
    weekdays: tuple[int, ...]  # 0 = Monday
    earliest_time: time | None
    latest_time: time | None
    priority: int
    created_at: datetime
    latest_offer: OfferView | None


@dataclass(frozen=True)
class Options:
    """What an entry can be for, as (id, name) pairs: the practice's locations, the active
    types patients may book online, the active providers."""

    locations: list[tuple[int, str]]
    appointment_types: list[tuple[int, str]]
    providers: list[tuple[int, str]]


def offers_for_entry(*, entry_id: int, now: datetime | None = None) -> list[OfferView]:
    """Every offer made to one entry, newest first (its patient's view audited, committed)."""
    views = _offer_views(WaitlistOffer.entry_id == entry_id, now=now)
    _audit_offers_read(views)
    return views


def recent_offers(*, practice_id: int, since: datetime | None = None,
                  now: datetime | None = None, limit: int = 100) -> list[OfferView]:
    """The practice's offers made since ``since`` (default: the last 7 days), newest first;
    each patient's view audited, committed."""
    now = now or utcnow()
    views = _offer_views(WaitlistEntry.practice_id == practice_id,
                         WaitlistOffer.offered_at >= (since or now - timedelta(days=7)),
                         now=now, limit=limit)
    _audit_offers_read(views)
    return views


def waiting_entries(*, practice_id: int, location_id: int | None = None,
                    appointment_type_id: int | None = None, now: datetime | None = None
                    ) -> list[EntryView]:
    """The practice's waiting entries in the order offers go to them (highest priority, then
    longest waiting), each with its latest offer. One audit event per patient listed (their
    entry ids), committed."""
    query = (select(WaitlistEntry, Patient, AppointmentType, Location)
             .join(Patient, Patient.id == WaitlistEntry.patient_id)
             .join(AppointmentType, AppointmentType.id == WaitlistEntry.appointment_type_id)
             .join(Location, Location.id == WaitlistEntry.location_id)
             .options(selectinload(WaitlistEntry.providers))
             .where(WaitlistEntry.practice_id == practice_id, WaitlistEntry.status == WAITING)
             .order_by(WaitlistEntry.priority.desc(), WaitlistEntry.created_at,
                       WaitlistEntry.id))
    if location_id is not None:
        query = query.where(WaitlistEntry.location_id == location_id)
    if appointment_type_id is not None:
        query = query.where(WaitlistEntry.appointment_type_id == appointment_type_id)
    rows = db.session.execute(query).all()
    latest: dict[int, OfferView] = {}
    if rows:
        for view in _offer_views(WaitlistOffer.entry_id.in_([e.id for e, *_ in rows]),
                                 now=now):
            latest.setdefault(view.entry_id, view)  # newest first
    entries = [EntryView(
        entry_id=entry.id, patient_id=patient.id, patient_name=_name(patient),
        appointment_type_name=type_name(kind), location_name=location.name,
        provider_names=tuple(sorted(p.display_name for p in entry.providers)),
        weekdays=tuple(int(d) for d in entry.weekdays.split(",")),
        earliest_time=entry.earliest_time, latest_time=entry.latest_time,
        priority=entry.priority,
        created_at=entry.created_at.astimezone(ZoneInfo(location.timezone)),
        latest_offer=latest.get(entry.id)) for entry, patient, kind, location in rows]
    shown: dict[int, list[int]] = {}
    for view in entries:
        shown.setdefault(view.patient_id, []).append(view.entry_id)
    for patient_id, entry_ids in shown.items():
        audit.record(audit.Action.APPOINTMENT_VIEW, patient_id=patient_id,
                     object_type="waitlist_entry", object_id=entry_ids[0],
                     detail={"view": "waitlist", "entry_ids": entry_ids})
    db.session.commit()
    return entries


def options(*, practice_id: int) -> Options:
    """The choices an entry can be made from."""
    locations = db.session.execute(select(Location.id, Location.name).where(
        Location.practice_id == practice_id).order_by(Location.name, Location.id)).all()
    kinds = db.session.execute(select(AppointmentType.id, AppointmentType.name).where(
        AppointmentType.practice_id == practice_id, AppointmentType.active.is_(True),
        AppointmentType.bookable_online.is_(True),
    ).order_by(AppointmentType.name, AppointmentType.id)).all()
    providers = db.session.execute(select(Provider).where(
        Provider.practice_id == practice_id, Provider.active.is_(True),
    ).order_by(Provider.family_name, Provider.given_name, Provider.id)).scalars()
    return Options(locations=[tuple(row) for row in locations],
                   appointment_types=[tuple(row) for row in kinds],
                   providers=[(p.id, p.display_name) for p in providers])


def _offer_views(*conditions: Any, now: datetime | None, limit: int | None = None
                 ) -> list[OfferView]:
    now = now or utcnow()
    query = (select(WaitlistOffer, Patient, Provider, Location, AppointmentType,
                    text_waiting().label("text_waiting"))
             .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
             .join(Patient, Patient.id == WaitlistEntry.patient_id)
             .join(Provider, Provider.id == WaitlistOffer.provider_id)
             .join(Location, Location.id == WaitlistOffer.location_id)
             .join(AppointmentType, AppointmentType.id == WaitlistOffer.appointment_type_id)
             .where(*conditions)
             .order_by(WaitlistOffer.offered_at.desc(), WaitlistOffer.id.desc()).limit(limit))
    views = []
    for offer, patient, provider, location, kind, waiting in db.session.execute(query):
        zone = ZoneInfo(location.timezone)
        views.append(OfferView(
            offer_id=offer.id, entry_id=offer.entry_id, patient_id=patient.id,
            patient_name=_name(patient), provider_id=offer.provider_id,
            provider_name=provider.display_name, location_id=offer.location_id,
            location_name=location.name, appointment_type_name=type_name(kind),
            start_at=offer.start_at.astimezone(zone),
            status=EXPIRED if offer.status == OFFERED and offer.expires_at <= now
            and not waiting else offer.status, text_waiting=bool(waiting),
            offered_at=offer.offered_at.astimezone(zone),
            expires_at=offer.expires_at.astimezone(zone),
            responded_at=offer.responded_at.astimezone(zone) if offer.responded_at else None))
    return views


def _audit_offers_read(views: list[OfferView]) -> None:
    for patient_id in dict.fromkeys(view.patient_id for view in views):
        audit.record(audit.Action.APPOINTMENT_VIEW, patient_id=patient_id,
                     object_type="waitlist_offer", detail={"view": "waitlist_offers"})
    db.session.commit()


def _name(patient: Patient) -> str:
    return f"{patient.family_name}, {patient.given_name}"
