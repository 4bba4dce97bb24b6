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

Not here: a second batch when a whole batch lets its offers expire, and the staff screen
(``recent_offers`` / ``offers_for_entry`` are what it will show).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from app.core.clock import utcnow
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
OFFERED, ACCEPTED, TAKEN, EXPIRED = "offered", "accepted", "taken", "expired"
SOURCES = ("staff", "patient")
YES_REPLIES = frozenset({"YES", "Y", "SI", "SÍ"})
LATE_REPLY_WINDOW = timedelta(days=1)
ALL_WEEKDAYS = tuple(range(7))


class WaitlistInputError(ValueError):
    """``errors`` maps each bad field to a readable reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class OfferView:
    """Who was offered what and when, for staff. ``status`` reads ``expired`` for an offer
    whose time ran out unanswered."""

    offer_id: int
    entry_id: int
    patient_id: int
    provider_id: int
    location_id: int
    start_at: datetime
    status: str
    offered_at: datetime
    expires_at: datetime
    responded_at: datetime | None


def join(*, patient_id: int, appointment_type_id: int, location_id: int,
         provider_ids: Iterable[int] = (), weekdays: Iterable[int] = ALL_WEEKDAYS,
         earliest_time: time | None = None, latest_time: time | None = None,
         priority: int = 0, source: str = "staff") -> WaitlistEntry:
    """Put the patient on the waitlist; raises ``WaitlistInputError`` naming bad fields."""
    errors: dict[str, str] = {}
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise WaitlistInputError({"patient_id": f"no such patient {patient_id}"})
    practice_id = patient.practice_id
    kind = db.session.get(AppointmentType, appointment_type_id)
    if kind is None or kind.practice_id != practice_id:
        errors["appointment_type_id"] = "no such appointment type"
    elif not kind.active:
        errors["appointment_type_id"] = f"{kind.name} is no longer offered"
    location = db.session.get(Location, location_id)
    if location is None or location.practice_id != practice_id:
        errors["location_id"] = "no such location"
    providers = [db.session.get(Provider, pid) for pid in dict.fromkeys(provider_ids)]
    if any(p is None or p.practice_id != practice_id for p in providers):
        errors["provider_ids"] = "no such provider"
    elif location is not None and any(location not in p.locations for p in providers):
        errors["provider_ids"] = "every provider must work at the location"
    chosen = set(weekdays)
    days = sorted({d for d in chosen if isinstance(d, int) and 0 <= d <= 6})
    if not days or len(days) != len(chosen):
        errors["weekdays"] = "choose one or more days, 0 (Monday) to 6 (Sunday)"
    if not isinstance(priority, int):
        errors["priority"] = "must be a whole number"
    if earliest_time and latest_time and earliest_time > latest_time:
        errors["latest_time"] = "must not be before the earliest time"
    if source not in SOURCES:
        errors["source"] = f"must be one of {', '.join(SOURCES)}"
    if errors:
        raise WaitlistInputError(errors)
    entry = WaitlistEntry(
        practice_id=practice_id, patient_id=patient.id, appointment_type_id=appointment_type_id,
        location_id=location_id, weekdays=",".join(str(d) for d in days),
        earliest_time=earliest_time, latest_time=latest_time, priority=priority,
        status=WAITING, source=source, providers=providers)
    db.session.add(entry)
    db.session.flush()
    _audit(entry.patient_id, "waitlist_entry", entry.id, "waitlist_join")
    return entry


def remove(*, entry_id: int) -> WaitlistEntry:
    """Take a waiting entry off the waitlist; its open offers end."""
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise WaitlistInputError({"entry_id": f"no such waitlist entry {entry_id}"})
    if entry.status != WAITING:
        raise WaitlistInputError({"entry_id": f"the entry is already {entry.status}"})
    entry.status = REMOVED
    db.session.execute(update(WaitlistOffer).where(WaitlistOffer.entry_id == entry.id,
                                                   WaitlistOffer.status == OFFERED)
                       .values(status=EXPIRED))
    _audit(entry.patient_id, "waitlist_entry", entry.id, "waitlist_remove")
    return entry


def offers_for_entry(*, entry_id: int, now: datetime | None = None) -> list[OfferView]:
    """Every offer made to one entry, newest first."""
    return _offer_views(WaitlistOffer.entry_id == entry_id, now=now)


def recent_offers(*, practice_id: int, since: datetime | None = None,
                  now: datetime | None = None, limit: int = 100) -> list[OfferView]:
    """The practice's offers made since ``since`` (default: the last 7 days), newest first."""
    now = now or utcnow()
    return _offer_views(WaitlistEntry.practice_id == practice_id,
                        WaitlistOffer.offered_at >= (since or now - timedelta(days=7)),
                        now=now, limit=limit)


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
               now: datetime | None = None) -> list[WaitlistOffer]:
    """Offer a freed slot to the next batch of matching entries (none if it is not open)."""
    now = now or utcnow()
    kind = db.session.get(AppointmentType, slot.appointment_type_id)
    location = db.session.get(Location, slot.location_id)
    if kind is None or location is None or not kind.bookable_online \
            or not slots.slot_is_open(slot=slot, now=now):
        return []
    batch = _matching_entries(slot, practice_id=practice_id, zone=ZoneInfo(location.timezone),
                              skip_patient_id=freed_by_patient_id, now=now)
    provider = db.session.get(Provider, slot.provider_id)
    minutes = current_app.config["WAITLIST_OFFER_MINUTES"]
    expires_at = min(now + timedelta(minutes=minutes), slot.start.astimezone(UTC))
    offers = []
    for entry in batch[:current_app.config["WAITLIST_BATCH_SIZE"]]:
        offer = WaitlistOffer(
            entry_id=entry.id, provider_id=slot.provider_id, location_id=slot.location_id,
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
    """Book the offered slot for the entry's patient; False when it cannot be had."""
    slot = slots.Slot(start=offer.start_at, end=offer.end_at, provider_id=offer.provider_id,
                      location_id=offer.location_id,
                      appointment_type_id=offer.appointment_type_id)
    try:
        appointment = booking.book_in_transaction(patient_id=entry.patient_id, slot=slot,
                                                  source="patient", now=now)
    except booking.BookingError:
        return False
    offer.status, offer.responded_at = ACCEPTED, now
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
                      skip_patient_id: int | None, now: datetime) -> list[WaitlistEntry]:
    local = slot.start.astimezone(zone)
    already_offered = select(WaitlistOffer.entry_id).where(
        WaitlistOffer.status == OFFERED, WaitlistOffer.expires_at > now,
        WaitlistOffer.provider_id == slot.provider_id,
        WaitlistOffer.start_at == slot.start.astimezone(UTC))
    query = (select(WaitlistEntry).options(selectinload(WaitlistEntry.providers))
             .where(WaitlistEntry.practice_id == practice_id, WaitlistEntry.status == WAITING,
                    WaitlistEntry.appointment_type_id == slot.appointment_type_id,
                    WaitlistEntry.location_id == slot.location_id,
                    WaitlistEntry.id.not_in(already_offered))
             .order_by(WaitlistEntry.priority.desc(), WaitlistEntry.created_at,
                       WaitlistEntry.id))
    if skip_patient_id is not None:
        query = query.where(WaitlistEntry.patient_id != skip_patient_id)
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


def _offer_views(*conditions: object, now: datetime | None, limit: int | None = None
                 ) -> list[OfferView]:
    now = now or utcnow()
    query = (select(WaitlistOffer, WaitlistEntry.patient_id)
             .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
             .where(*conditions)
             .order_by(WaitlistOffer.offered_at.desc(), WaitlistOffer.id.desc()).limit(limit))
    views = [OfferView(
        offer_id=offer.id, entry_id=offer.entry_id, patient_id=patient_id,
        provider_id=offer.provider_id, location_id=offer.location_id, start_at=offer.start_at,
        status=EXPIRED if offer.status == OFFERED and offer.expires_at <= now else offer.status,
        offered_at=offer.offered_at, expires_at=offer.expires_at,
        responded_at=offer.responded_at) for offer, patient_id in db.session.execute(query)]
    for patient_id in dict.fromkeys(view.patient_id for view in views):
        audit.record(audit.Action.APPOINTMENT_VIEW, patient_id=patient_id,
                     object_type="waitlist_offer", detail={"view": "waitlist_offers"})
    return views


def _audit(patient_id: int, object_type: str, object_id: int, change: str) -> None:
    audit.record(audit.Action.APPOINTMENT_CHANGE, patient_id=patient_id,
                 object_type=object_type, object_id=object_id, detail={"change": change})
