"""The YES-reply intent: a patient takes an offer by replying YES (SÍ / SI in Spanish).

The handler books it in the inbound webhook's transaction through
``booking.book_in_transaction``, whose provider row lock makes the first YES win. The others'
offers for that slot become ``taken``; a YES to a taken or expired offer (up to
``LATE_REPLY_WINDOW`` after it ended) is answered "that time was just taken" and changes no
appointment. A household's shared number answers its newest offer. A YES claims its offer with
a conditional UPDATE before booking, so the sweep (``offers.expire_offers``) and a removal pass
it by.

The answer to a YES that booked is ONE text: the visit's confirmation. Journeys registers
``register_booked_reply`` to send its own (date, time, address, provider, how to confirm,
reschedule or cancel) as this immediate answer; without such a hook the waitlist's own
``waitlist_booked`` text answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.core.clock import utcnow
from app.extensions import db
from app.messaging import outbox
from app.messaging.models import Message, Purpose
from app.patients.models import Patient
from app.practice.models import Location, Provider
from app.scheduling import booking, slots
from app.scheduling.models import Appointment, WaitlistEntry, WaitlistOffer
from app.scheduling.waitlist.offers import slot_context
from app.scheduling.waitlist.states import (
    ACCEPTED,
    BOOKED,
    EXPIRED,
    OFFERED,
    TAKEN,
    WAITING,
    record_change,
)

YES_REPLIES = frozenset({"YES", "Y", "SI", "SÍ"})
LATE_REPLY_WINDOW = timedelta(days=1)

BookedReply = Callable[[Message, Appointment], None]
_booked_reply: list[BookedReply] = []


def register_booked_reply(hook: BookedReply) -> BookedReply:
    """Let another domain answer a YES that booked (in the webhook's transaction, queueing
    its immediate reply to ``message`` about the appointment) instead of ``waitlist_booked``:
    the patient gets one text, not two. The last registered hook answers."""
    _booked_reply[:] = [hook]
    return hook


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
    record_change(entry.patient_id, "waitlist_offer", offer.id, "waitlist_accept")
    if _booked_reply:
        _booked_reply[0](message, appointment)
        return True
    patient = db.session.get(Patient, entry.patient_id)
    _reply(message, entry.patient_id, "waitlist_booked", slot_context(
        offer, db.session.get(Provider, offer.provider_id),
        db.session.get(Location, offer.location_id), patient.preferred_language))
    return True


def _reply(message: Message, patient_id: int, template: str, context: dict[str, str]) -> None:
    outbox.enqueue(
        practice_id=message.practice_id, purpose=Purpose.APPOINTMENT, immediate_reply=True,
        in_reply_to_id=message.id, conversation_id=message.conversation_id, channel="sms",
        address=message.address, patient_id=patient_id, template=template, context=context,
        idempotency_key=f"reply:{message.id}:waitlist")
