"""Waitlist offers: a freed slot offered by text to the best-matching waiting entries.

When an appointment is cancelled or moved, the time it freed is offered, inside the booking
transaction, to the best-matching waiting entries: same type and location, a provider the
entry accepts (none chosen = any), a preferred weekday, and a start inside the entry's local
time-of-day window (``earliest_time`` <= start <= ``latest_time``, in the location's zone).
Highest priority first, then longest waiting; ``WAITLIST_BATCH_SIZE`` entries at once, one
patient once. Each gets a ``WaitlistOffer`` and a text. Only a slot the patient could book
online is offered: the type is bookable online and the slot is open under the type's notice
rules.

The offer runs for ``WAITLIST_OFFER_MINUTES`` (never past the slot's start) from the moment
its text is sent, not queued: quiet hours may hold it until morning. ``before_offer_sent``
(a messaging ``send_hooks`` check) starts the window then, or cancels the text when the offer
has ended or its time is no longer open. An offer whose text has not gone yet never expires.
When the offered time is booked by anyone else (online, at the desk, through the API), the
offers of it still running are ``taken`` and their unsent texts cancelled (``on_booked``);
the time is not held for the offered patients, and a YES after that hears it was taken.

``expire_offers`` (called every minute by the scheduler) marks offers whose time ran out
``expired``, and ``entries.remove`` ends the removed entry's offers; when a slot's whole batch
has ended without a YES and the slot is still open, the next batch is offered it, never a
patient offered that slot in this round (since it was last taken). Until the sweep has run, an
offer past its time reads ``expired`` all the same. A YES (``intent``) claims its offer with a
conditional UPDATE before booking; the sweep passes by an offer so claimed (``SKIP LOCKED``)
and a removal waits for it, so exactly one of "the YES books it" and "the sweep ends it"
happens.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from app.core import phones
from app.core.clock import utcnow
from app.extensions import db
from app.messaging import outbox
from app.messaging.models import Message, MessageStatus, Purpose
from app.patients.models import Patient
from app.practice.models import Location, Provider
from app.scheduling import events, slots
from app.scheduling.models import Appointment, AppointmentType, WaitlistEntry, WaitlistOffer
from app.scheduling.waitlist.states import (
    ACCEPTED,
    EXPIRED,
    OFFERED,
    TAKEN,
    WAITING,
    record_change,
)

# What names the slot of an offer, as ended offers are passed on.
SLOT_COLUMNS = (WaitlistOffer.provider_id, WaitlistOffer.location_id,
                WaitlistOffer.appointment_type_id, WaitlistOffer.start_at, WaitlistOffer.end_at)


def text_waiting() -> Any:
    """SQL: the offer's text has not been sent yet (queued, or held by quiet hours)."""
    return WaitlistOffer.message_id.in_(select(Message.id).where(
        Message.status.in_((MessageStatus.SCHEDULED, MessageStatus.SENDING))))


def expire_offers(*, now: datetime | None = None) -> int:
    """Mark offers whose time ran out ``expired``; offer each slot whose whole batch ended
    without a YES, if still open, to the next batch. Returns how many offers expired;
    commits. Safe to run again or side by side: an offer is expired by one UPDATE, and only
    the run that expired it re-offers its slot. An offer a YES has claimed but not yet
    committed is locked, and passed by; one whose text has not gone yet waits for it."""
    now = now or utcnow()
    due = db.session.execute(
        select(WaitlistOffer.id)
        .where(WaitlistOffer.status == OFFERED, WaitlistOffer.expires_at <= now,
               ~text_waiting())
        .order_by(WaitlistOffer.id).with_for_update(skip_locked=True)).scalars().all()
    expired = db.session.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.id.in_(due), WaitlistOffer.status == OFFERED)
        .values(status=EXPIRED).returning(*SLOT_COLUMNS)).all() if due else []
    offer_to_next_batches(expired, now=now)
    db.session.commit()
    return len(expired)


def offer_to_next_batches(ended: Sequence[Any], *, now: datetime) -> None:
    """For each slot of the offers just ended (rows of ``SLOT_COLUMNS``): once its current
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


def on_cancelled(event: events.AppointmentCancelled) -> None:
    """The time a cancellation freed, offered to the waitlist."""
    offer_slot(slots.Slot(start=event.start_at, end=event.end_at, provider_id=event.provider_id,
                          location_id=event.location_id,
                          appointment_type_id=event.appointment_type_id),
               practice_id=event.practice_id, freed_by_patient_id=event.patient_id)


def on_booked(event: events.AppointmentBooked | events.AppointmentRescheduled) -> None:
    """The time just booked (or moved to) is gone: the offers of it still running are
    ``taken`` and their texts, if not sent yet, cancelled."""
    running = db.session.execute(select(WaitlistOffer).where(
        WaitlistOffer.status == OFFERED, WaitlistOffer.provider_id == event.provider_id,
        WaitlistOffer.start_at < event.end_at, WaitlistOffer.end_at > event.start_at)).scalars()
    for offer in running:
        offer.status = TAKEN
        if offer.message_id is not None:
            outbox.cancel_message(practice_id=offer.practice_id, message_id=offer.message_id,
                                  reason="the offered time was booked")
        record_change(db.session.get(WaitlistEntry, offer.entry_id).patient_id,
                      "waitlist_offer", offer.id, "waitlist_withdrawn")


def before_offer_sent(message: Message, now: datetime) -> str | None:
    """The offer's text is about to go: start its window now, or cancel the text when the
    offer has ended or its time is no longer open to patients (``send_hooks``)."""
    offer = db.session.execute(select(WaitlistOffer).where(
        WaitlistOffer.message_id == message.id)).scalar_one_or_none()
    if offer is None:
        return None
    if offer.status != OFFERED:
        return f"the waitlist offer is {offer.status}"
    slot = slots.Slot(start=offer.start_at, end=offer.end_at, provider_id=offer.provider_id,
                      location_id=offer.location_id,
                      appointment_type_id=offer.appointment_type_id)
    if not slots.slot_is_open(slot=slot, now=now):
        offer.status = TAKEN
        return "the offered time is no longer open"
    offer.offered_at = now
    offer.expires_at = _window_end(slot, now)
    return None


def _window_end(slot: slots.Slot, now: datetime) -> datetime:
    minutes = current_app.config["WAITLIST_OFFER_MINUTES"]
    return min(now + timedelta(minutes=minutes), slot.start.astimezone(UTC))


def on_rescheduled(event: events.AppointmentRescheduled) -> None:
    """The time a move freed, offered to the waitlist; the time it took is gone."""
    on_booked(event)
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
    expires_at = _window_end(slot, now)  # until the text goes (``before_offer_sent``)
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
            context=slot_context(offer, provider, location, patient.preferred_language),
            idempotency_key=f"waitlist-offer:{offer.id}")
        offer.message_id = message.id
        record_change(entry.patient_id, "waitlist_offer", offer.id, "waitlist_offer")
        offers.append(offer)
    return offers


def _matching_entries(slot: slots.Slot, *, practice_id: int, zone: ZoneInfo,
                      skip_patient_id: int | None, passed_over: Collection[int],
                      now: datetime) -> list[WaitlistEntry]:
    local = slot.start.astimezone(zone)
    already_offered = select(WaitlistEntry.patient_id).join(
        WaitlistOffer, WaitlistOffer.entry_id == WaitlistEntry.id).where(
        WaitlistOffer.status == OFFERED, or_(WaitlistOffer.expires_at > now, text_waiting()),
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


def slot_context(offer: WaitlistOffer | Appointment, provider: Provider | None,
                 location: Location, language: str) -> dict[str, str]:
    """The slot (of an offer or a visit) as a text names it: time in the location's zone,
    labelled with the zone's abbreviation, provider, location and the location's phone (no
    appointment type: it could reveal a condition)."""
    local = offer.start_at.astimezone(ZoneInfo(location.timezone))
    locale = language if language in ("en", "es") else "en"
    when = (f"{format_skeleton('MMMEd', local, locale=locale)}, "
            f"{format_time(local, 'short', tzinfo=local.tzinfo, locale=locale)} "
            f"{local.strftime('%Z')}")
    return {"when": when, "provider": provider.display_name if provider else "",
            "location": location.name, "location_phone": phones.display(location.phone)}
