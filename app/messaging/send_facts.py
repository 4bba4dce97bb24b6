"""What the send-time rules read, loaded for a whole batch of messages in a few queries.

``policy.decide`` asks, for each message: its practice and patient, whether a contact point
was reported unusable, the latest consent entries of that contact point, the zone of the place
the patient visits, and the capped messages already sent to the patient or the number. One
query per kind of fact serves every message of a worker's batch (``load``), instead of about
ten per message; the decisions themselves are unchanged (``policy`` applies the rules to the
facts in Python).

Caps inside a batch: the capped messages counted are those sent, delivered or undelivered in
the last 8 days, and those another worker is sending with a lower id; the batch's own messages
are left out of the query and counted as the dispatcher decides to send them
(``note_capped_send``), in id order, which is what deciding them one by one used to count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from app.core.tenancy import across_practices, acting_for
from app.extensions import db
from app.messaging.conversations import contact_index
from app.messaging.models import (
    ConsentEntry,
    ContactPointStatus,
    Conversation,
    Message,
    MessageStatus,
)
from app.patients.models import Patient
from app.practice.models import Practice

COUNTED = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)
CAP_LOOKBACK = timedelta(days=8)

# A domain above messaging names the zones of the places patients visit (scheduling: each
# one's next appointment's location, else their latest's): ``resolver(patient_ids)`` returns
# {patient_id: IANA zone} for those that have one. Called acting for one practice.
VisitZones = Callable[[Sequence[int]], dict[int, str]]
visit_zone_resolvers: list[VisitZones] = []


@dataclass(frozen=True)
class CappedSend:
    id: int
    practice_id: int
    patient_id: int | None
    contact_index: str | None  # the conversation's, for texts
    status: str
    at: datetime | None  # sent_at, else sending_started_at


@dataclass
class SendFacts:
    practices: dict[int, Practice] = field(default_factory=dict)
    patients: dict[int, Patient] = field(default_factory=dict)
    unusable: dict[tuple[int, str, str], str | None] = field(default_factory=dict)
    consent: dict[tuple[int, str, str, str], ConsentEntry] = field(default_factory=dict)
    zones: dict[int, str] = field(default_factory=dict)
    capped: list[CappedSend] = field(default_factory=list)
    _indexes: dict[tuple[str, str], str] = field(default_factory=dict)

    def index(self, channel: str, address: str) -> str:
        """The contact point's blind index (an HMAC), computed once per batch."""
        key = (channel, address)
        if key not in self._indexes:
            self._indexes[key] = contact_index(channel, address)
        return self._indexes[key]

    def latest_consent(self, practice_id: int, channel: str, index: str, purpose: str
                       ) -> ConsentEntry | None:
        return self.consent.get((practice_id, channel, index, purpose))

    def capped_send_times(self, message: Message, channel: str, address: str) -> list[datetime]:
        """Send times of the capped messages to this patient or to the phone number it goes
        to (a household shares one), counting those being sent with a lower id."""
        phone = self.index(channel, address) if channel == "sms" else None
        times = []
        for sent in self.capped:
            same = sent.patient_id == message.patient_id or (
                phone is not None and sent.practice_id == message.practice_id
                and sent.contact_index == phone)
            counted = sent.status in COUNTED or (sent.status == MessageStatus.SENDING
                                                 and sent.id < message.id)
            if same and counted and sent.id != message.id and sent.at is not None:
                times.append(sent.at)
        return times

    def note_capped_send(self, message: Message, channel: str, address: str,
                         at: datetime) -> None:
        """The dispatcher is sending ``message``: later messages of the batch count it."""
        if message.capped:
            self.capped.append(CappedSend(
                message.id, message.practice_id, message.patient_id,
                self.index(channel, address) if channel == "sms" else None,
                MessageStatus.SENDING, at))


def contact_points(message: Message, patient: Patient | None) -> list[tuple[str, str]]:
    """The (channel, address) pairs to try, in order: the message's own address, else the
    patient's preferred channel then the other one."""
    if message.address:
        return [(message.channel, message.address)]
    if patient is None:
        return []
    if message.channel:
        order = [message.channel]
    else:
        order = [patient.preferred_channel] + [c for c in ("sms", "email")
                                               if c != patient.preferred_channel]
    points = []
    for channel in order:
        address = patient.mobile_phone if channel == "sms" else patient.email
        if address:
            points.append((channel, address))
    return points


def load(messages: Sequence[Message], *, now: datetime) -> SendFacts:
    """Every fact the rules need for ``messages`` (of any practices)."""
    facts = SendFacts()
    practice_ids = {m.practice_id for m in messages}
    patient_ids = {m.patient_id for m in messages if m.patient_id}
    session = db.session
    with across_practices():  # a worker's batch spans practices; each row is keyed by its own
        facts.practices = {p.id: p for p in session.execute(
            select(Practice).where(Practice.id.in_(practice_ids))).scalars()}
        if patient_ids:
            facts.patients = {p.id: p for p in session.execute(
                select(Patient).where(Patient.id.in_(patient_ids))).scalars()}
        indexes = {facts.index(channel, address) for m in messages
                   for channel, address in contact_points(m, facts.patients.get(m.patient_id))}
        if indexes:
            _load_contact_facts(facts, practice_ids, indexes)
        if any(m.capped and m.patient_id for m in messages):
            _load_capped(facts, messages, now=now)
    for practice_id in practice_ids:
        ids = sorted({m.patient_id for m in messages
                      if m.patient_id and m.practice_id == practice_id})
        if ids:
            with acting_for(practice_id):
                for resolver in tuple(visit_zone_resolvers):
                    for patient_id, zone in resolver(ids).items():
                        facts.zones.setdefault(patient_id, zone)
    return facts


def _load_contact_facts(facts: SendFacts, practice_ids: set[int], indexes: set[str]) -> None:
    for status in db.session.execute(select(ContactPointStatus).where(
            ContactPointStatus.practice_id.in_(practice_ids),
            ContactPointStatus.contact_index.in_(indexes),
            ContactPointStatus.usable.is_(False))).scalars():
        facts.unusable[(status.practice_id, status.channel, status.contact_index)] = \
            status.reason
    for entry in db.session.execute(select(ConsentEntry).where(
            ConsentEntry.practice_id.in_(practice_ids),
            ConsentEntry.contact_index.in_(indexes)).order_by(ConsentEntry.id)).scalars():
        facts.consent[(entry.practice_id, entry.channel, entry.contact_index,
                       entry.purpose)] = entry  # ascending ids: the latest one stays


def _load_capped(facts: SendFacts, messages: Sequence[Message], *, now: datetime) -> None:
    capped = [m for m in messages if m.capped and m.patient_id]
    phones = {facts.index("sms", address) for m in capped
              for channel, address in contact_points(m, facts.patients.get(m.patient_id))
              if channel == "sms"}
    since = now - CAP_LOOKBACK
    rows = db.session.execute(
        select(Message.id, Message.practice_id, Message.patient_id, Conversation.contact_index,
               Conversation.channel, Message.status, Message.sent_at,
               Message.sending_started_at)
        .outerjoin(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.capped, Message.id.not_in([m.id for m in messages]),
               or_(Message.patient_id.in_({m.patient_id for m in capped}),
                   and_(Conversation.channel == "sms", Conversation.contact_index.in_(phones))),
               Message.status.in_((*COUNTED, MessageStatus.SENDING)),
               or_(Message.sent_at >= since, Message.sending_started_at >= since))).all()
    facts.capped = [CappedSend(row.id, row.practice_id, row.patient_id,
                               row.contact_index if row.channel == "sms" else None,
                               row.status, row.sent_at or row.sending_started_at)
                    for row in rows]
