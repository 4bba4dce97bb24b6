"""The waitlist: patients waiting for an earlier time, offered freed slots by SMS.

``join`` and ``remove`` manage entries (flushed, not committed: the caller's transaction
decides). When an appointment is cancelled or moved, the time it freed is offered, inside the
booking transaction, to the best-matching waiting entries: same type and location, a provider
the entry accepts (none chosen = any), a preferred weekday, and a start inside the entry's
local time-of-day window (``earliest_time`` <= start <= ``latest_time``, in the location's
zone). Highest priority first, then longest waiting; ``WAITLIST_BATCH_SIZE`` entries at once,
one patient once. Each gets a ``WaitlistOffer`` open for ``WAITLIST_OFFER_MINUTES`` (never past
the slot's start) and a text. Only a slot the patient could book online is offered: the type
is bookable online and the slot is open under the type's notice rules.

A patient takes an offer by replying YES (SÍ / SI in Spanish): the intent handler books it in
the inbound webhook's transaction through ``booking.book_in_transaction``, whose provider row
lock makes the first YES win. The others' offers for that slot become ``taken``; a YES to a
taken or expired offer (up to ``LATE_REPLY_WINDOW`` after it ended) is answered "that time was
just taken" and changes no appointment. A household's shared number answers its newest offer.

``expire_offers`` (called every minute by the scheduler) marks offers whose time ran out
``expired``, and ``remove`` ends the removed entry's offers; when a slot's whole batch has ended
without a YES and the slot is still open, the next batch is offered it, never a patient offered
that slot in this round (since it was last taken). Until the sweep has run, an offer past its
time reads ``expired`` all the same. A YES claims its offer with a conditional UPDATE before
booking; the sweep passes by an offer so claimed (``SKIP LOCKED``) and ``remove`` waits for it,
so exactly one of "the YES books it" and "the sweep ends it" happens.

The staff screen reads ``waiting_entries`` and ``recent_offers`` (times in the location's
zone) and changes the list through ``add_entry`` and ``remove_entry``, which commit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from app.core.clock import utcnow
from app.core.errors import FieldErrors
from app.core.events import subscribe
from app.extensions import db
from app.messaging import outbox
from app.messaging.intents import register_intent_handler
from app.messaging.models import Message, Purpose
from app.patients.models import Patient
from app.practice.models import Location, Provider
from app.scheduling import booking, events, slots
from app.scheduling.models import AppointmentType, WaitlistEntry, WaitlistOffer
from app.security import audit

WAITING, BOOKED, REMOVED = "waiting", "booked", "removed"
OFFERED, ACCEPTED, TAKEN, EXPIRED, DECLINED = "offered", "accepted", "taken", "expired", "declined"
SOURCES = ("staff", "patient")
YES_REPLIES = frozenset({"YES", "Y", "SI", "SÍ"})
LATE_REPLY_WINDOW = timedelta(days=1)
ALL_WEEKDAYS = tuple(range(7))
# What names the slot of an offer, as ended offers are passed on.
_SLOT_COLUMNS = (WaitlistOffer.provider_id, WaitlistOffer.location_id,
                 WaitlistOffer.appointment_type_id, WaitlistOffer.start_at, WaitlistOffer.end_at)


class WaitlistInputError(FieldErrors):
    """``errors`` maps each bad field to a readable reason."""


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
        .values(status=EXPIRED).returning(*_SLOT_COLUMNS)).all()
    left = db.session.execute(
        update(WaitlistEntry).where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WAITING)
        .values(status=REMOVED)).rowcount
    if left != 1:  # removed before, or booked by a YES meanwhile
        raise WaitlistInputError({"entry_id": _l("This patient is no longer waiting.")})
    _audit(entry.patient_id, "waitlist_entry", entry.id, "waitlist_remove")
    _offer_to_next_batches(ended, now=now or utcnow())
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
        appointment_type_name=kind.name, location_name=location.name,
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


def expire_offers(*, now: datetime | None = None) -> int:
    """Mark offers whose time ran out ``expired``; offer each slot whose whole batch ended
    without a YES, if still open, to the next batch. Returns how many offers expired;
    commits. Safe to run again or side by side: an offer is expired by one UPDATE, and only
    the run that expired it re-offers its slot. An offer a YES has claimed but not yet
    committed is locked, and passed by."""
    now = now or utcnow()
    due = db.session.execute(
        select(WaitlistOffer.id)
        .where(WaitlistOffer.status == OFFERED, WaitlistOffer.expires_at <= now)
        .order_by(WaitlistOffer.id).with_for_update(skip_locked=True)).scalars().all()
    expired = db.session.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.id.in_(due), WaitlistOffer.status == OFFERED)
        .values(status=EXPIRED).returning(*_SLOT_COLUMNS)).all() if due else []
    _offer_to_next_batches(expired, now=now)
    db.session.commit()
    return len(expired)


def _offer_to_next_batches(ended: Sequence[Any], *, now: datetime) -> None:
    """For each slot of the offers just ended (rows of ``_SLOT_COLUMNS``): once its current
    round's batch has ended without a YES, offer it, if still open, to the next batch, never
    a patient offered it in this round. A round starts with the latest accepted offer of the
    slot: a slot taken and freed again is a new round."""
    freed = {slots.Slot(start=row.start_at, end=row.end_at, provider_id=row.provider_id,
                        location_id=row.location_id,
                        appointment_type_id=row.appointment_type_id) for row in ended}
    for slot in sorted(freed, key=lambda s: (s.start, s.provider_id)):
        offered_it = db.session.execute(
            select(WaitlistOffer.status, WaitlistEntry.patient_id, WaitlistEntry.practice_id)
            .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
            .where(WaitlistOffer.provider_id == slot.provider_id,
                   WaitlistOffer.start_at == slot.start)
            .order_by(WaitlistOffer.id)).all()
        taken = [n for n, row in enumerate(offered_it) if row.status == ACCEPTED]
        this_round = offered_it[taken[-1] if taken else 0:]
        if any(row.status == OFFERED for row in this_round):
            continue  # part of the batch may still answer
        offer_slot(slot, practice_id=this_round[0].practice_id,
                   passed_over={row.patient_id for row in this_round}, now=now)


@subscribe(events.AppointmentCancelled)
def _on_cancelled(event: events.AppointmentCancelled) -> None:
    offer_slot(slots.Slot(start=event.start_at, end=event.end_at, provider_id=event.provider_id,
                          location_id=event.location_id,
                          appointment_type_id=event.appointment_type_id),
               practice_id=event.practice_id, freed_by_patient_id=event.patient_id)


@subscribe(events.AppointmentRescheduled)
def _on_rescheduled(event: events.AppointmentRescheduled) -> None:
    offer_slot(slots.Slot(start=event.old_start_at, end=event.old_end_at,
                          provider_id=event.old_provider_id, location_id=event.old_location_id,
                          appointment_type_id=event.old_appointment_type_id),
               practice_id=event.practice_id, freed_by_patient_id=event.patient_id)


def offer_slot(slot: slots.Slot, *, practice_id: int, freed_by_patient_id: int | None = None,
               passed_over: Collection[int] = (), now: datetime | None = None
               ) -> list[WaitlistOffer]:
    """Offer a freed slot to the next batch of matching entries (none if it is not open),
    leaving out the patients ``passed_over`` (those offered it in this round) and those
    with an open offer of it."""
    now = now or utcnow()
    kind = db.session.get(AppointmentType, slot.appointment_type_id)
    location = db.session.get(Location, slot.location_id)
    if kind is None or location is None or not kind.bookable_online \
            or not slots.slot_is_open(slot=slot, now=now):
        return []
    batch = _matching_entries(slot, practice_id=practice_id, zone=ZoneInfo(location.timezone),
                              skip_patient_id=freed_by_patient_id, passed_over=passed_over,
                              now=now)
    provider = db.session.get(Provider, slot.provider_id)
    minutes = current_app.config["WAITLIST_OFFER_MINUTES"]
    expires_at = min(now + timedelta(minutes=minutes), slot.start.astimezone(UTC))
    offers = []
    for entry in batch[:current_app.config["WAITLIST_BATCH_SIZE"]]:
        offer = WaitlistOffer(
            practice_id=practice_id, entry_id=entry.id, provider_id=slot.provider_id,
            location_id=slot.location_id,
            appointment_type_id=slot.appointment_type_id, start_at=slot.start.astimezone(UTC),
            end_at=slot.end.astimezone(UTC), status=OFFERED, offered_at=now,
            expires_at=expires_at)
        db.session.add(offer)
        db.session.flush()
        patient = db.session.get(Patient, entry.patient_id)
        message = outbox.enqueue(
            practice_id=practice_id, purpose=Purpose.APPOINTMENT, patient_id=entry.patient_id,
            channel="sms", template="waitlist_offer",
            context=_slot_context(offer, provider, location, patient.preferred_language),
            idempotency_key=f"waitlist-offer:{offer.id}")
        offer.message_id = message.id
        _audit(entry.patient_id, "waitlist_offer", offer.id, "waitlist_offer")
        offers.append(offer)
    return offers


@register_intent_handler
def take_offer(message: Message, patients: Sequence[Patient], text: str) -> bool:
    """A YES to a waitlist offer: book it, or say it was taken. Other texts pass on."""
    if text not in YES_REPLIES or not patients:
        return False
    now = utcnow()
    answerable = db.session.execute(
        select(WaitlistOffer, WaitlistEntry)
        .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
        .where(WaitlistEntry.patient_id.in_([p.id for p in patients]),
               WaitlistOffer.responded_at.is_(None),
               WaitlistOffer.status.in_((OFFERED, TAKEN)),
               WaitlistOffer.expires_at > now - LATE_REPLY_WINDOW)
        .order_by(WaitlistOffer.offered_at.desc(), WaitlistOffer.id.desc())).all()
    if not answerable:
        return False
    offer, entry = next(((o, e) for o, e in answerable
                         if o.status == OFFERED and o.expires_at > now and e.status == WAITING),
                        answerable[0])
    if offer.status == OFFERED and offer.expires_at > now and entry.status == WAITING \
            and _book(offer, entry, message, now=now):
        return True
    for answered, _entry in answerable:  # this offer, and those already ended
        if answered is offer or answered.status == TAKEN or answered.expires_at <= now:
            answered.responded_at = now
            if answered.status == OFFERED:
                answered.status = EXPIRED if answered.expires_at <= now else TAKEN
    _reply(message, entry.patient_id, "waitlist_taken", {})
    return True


def _book(offer: WaitlistOffer, entry: WaitlistEntry, message: Message, *,
          now: datetime) -> bool:
    """Book the offered slot for the entry's patient; False when it cannot be had. The slot's
    open offers are locked first, in id order, so simultaneous YESes queue here rather than
    deadlock over the provider lock and the other offers. Then the offer is claimed by an
    UPDATE that finds it still offered: if the sweep or a removal ended it since it was read,
    nothing is booked; once claimed, its lock keeps them off it until this transaction ends."""
    db.session.execute(select(WaitlistOffer.id).where(
        WaitlistOffer.provider_id == offer.provider_id, WaitlistOffer.start_at == offer.start_at,
        WaitlistOffer.status == OFFERED).order_by(WaitlistOffer.id).with_for_update())
    claimed = db.session.execute(
        update(WaitlistOffer).where(WaitlistOffer.id == offer.id, WaitlistOffer.status == OFFERED)
        .values(status=ACCEPTED, responded_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(offer)
    if claimed != 1:
        return False
    slot = slots.Slot(start=offer.start_at, end=offer.end_at, provider_id=offer.provider_id,
                      location_id=offer.location_id,
                      appointment_type_id=offer.appointment_type_id)
    try:
        appointment = booking.book_in_transaction(patient_id=entry.patient_id, slot=slot,
                                                  source="patient", now=now)
    except booking.BookingError:
        offer.status, offer.responded_at = OFFERED, None  # answered as taken by the caller
        return False
    entry.status, entry.booked_appointment_id = BOOKED, appointment.id
    db.session.execute(update(WaitlistOffer).where(
        WaitlistOffer.id != offer.id, WaitlistOffer.status == OFFERED,
        WaitlistOffer.provider_id == offer.provider_id,
        WaitlistOffer.start_at == offer.start_at).values(status=TAKEN))
    _audit(entry.patient_id, "waitlist_offer", offer.id, "waitlist_accept")
    patient = db.session.get(Patient, entry.patient_id)
    _reply(message, entry.patient_id, "waitlist_booked", _slot_context(
        offer, db.session.get(Provider, offer.provider_id),
        db.session.get(Location, offer.location_id), patient.preferred_language))
    return True


def _matching_entries(slot: slots.Slot, *, practice_id: int, zone: ZoneInfo,
                      skip_patient_id: int | None, passed_over: Collection[int],
                      now: datetime) -> list[WaitlistEntry]:
    local = slot.start.astimezone(zone)
    already_offered = select(WaitlistEntry.patient_id).join(
        WaitlistOffer, WaitlistOffer.entry_id == WaitlistEntry.id).where(
        WaitlistOffer.status == OFFERED, WaitlistOffer.expires_at > now,
        WaitlistOffer.provider_id == slot.provider_id,
        WaitlistOffer.start_at == slot.start.astimezone(UTC))
    query = (select(WaitlistEntry).options(selectinload(WaitlistEntry.providers))
             .where(WaitlistEntry.practice_id == practice_id, WaitlistEntry.status == WAITING,
                    WaitlistEntry.appointment_type_id == slot.appointment_type_id,
                    WaitlistEntry.location_id == slot.location_id,
                    WaitlistEntry.patient_id.not_in(already_offered))
             .order_by(WaitlistEntry.priority.desc(), WaitlistEntry.created_at,
                       WaitlistEntry.id))
    if skip_patient_id is not None:
        query = query.where(WaitlistEntry.patient_id != skip_patient_id)
    if passed_over:
        query = query.where(WaitlistEntry.patient_id.not_in(passed_over))
    found: list[WaitlistEntry] = []
    seen: set[int] = set()
    for entry in db.session.execute(query).scalars():
        if entry.patient_id not in seen and _matches(entry, slot, local):
            seen.add(entry.patient_id)
            found.append(entry)
    return found


def _matches(entry: WaitlistEntry, slot: slots.Slot, local: datetime) -> bool:
    wall = local.time().replace(tzinfo=None)
    return (str(local.weekday()) in entry.weekdays.split(",")
            and (entry.earliest_time is None or wall >= entry.earliest_time)
            and (entry.latest_time is None or wall <= entry.latest_time)
            and (not entry.providers or slot.provider_id in {p.id for p in entry.providers}))


def _slot_context(offer: WaitlistOffer, provider: Provider | None, location: Location,
                  language: str) -> dict[str, str]:
    """The slot as a text names it: time in the location's zone, provider, location (no
    appointment type: it could reveal a condition)."""
    local = offer.start_at.astimezone(ZoneInfo(location.timezone))
    locale = language if language in ("en", "es") else "en"
    when = (f"{format_skeleton('MMMEd', local, locale=locale)}, "
            f"{format_time(local, 'short', tzinfo=local.tzinfo, locale=locale)}")
    return {"when": when, "provider": provider.display_name if provider else "",
            "location": location.name}


def _reply(message: Message, patient_id: int, template: str, context: dict[str, str]) -> None:
    outbox.enqueue(
        practice_id=message.practice_id, purpose=Purpose.APPOINTMENT, immediate_reply=True,
        in_reply_to_id=message.id, conversation_id=message.conversation_id, channel="sms",
        address=message.address, patient_id=patient_id, template=template, context=context,
        idempotency_key=f"reply:{message.id}:waitlist")


def _offer_views(*conditions: Any, now: datetime | None, limit: int | None = None
                 ) -> list[OfferView]:
    now = now or utcnow()
    query = (select(WaitlistOffer, Patient, Provider, Location, AppointmentType)
             .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
             .join(Patient, Patient.id == WaitlistEntry.patient_id)
             .join(Provider, Provider.id == WaitlistOffer.provider_id)
             .join(Location, Location.id == WaitlistOffer.location_id)
             .join(AppointmentType, AppointmentType.id == WaitlistOffer.appointment_type_id)
             .where(*conditions)
             .order_by(WaitlistOffer.offered_at.desc(), WaitlistOffer.id.desc()).limit(limit))
    views = []
    for offer, patient, provider, location, kind in db.session.execute(query):
        zone = ZoneInfo(location.timezone)
        views.append(OfferView(
            offer_id=offer.id, entry_id=offer.entry_id, patient_id=patient.id,
            patient_name=_name(patient), provider_id=offer.provider_id,
            provider_name=provider.display_name, location_id=offer.location_id,
            location_name=location.name, appointment_type_name=kind.name,
            start_at=offer.start_at.astimezone(zone),
            status=EXPIRED if offer.status == OFFERED and offer.expires_at <= now
            else offer.status,
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


def _audit(patient_id: int, object_type: str, object_id: int, change: str) -> None:
    audit.record(audit.Action.APPOINTMENT_CHANGE, patient_id=patient_id,
                 object_type=object_type, object_id=object_id, detail={"change": change})
