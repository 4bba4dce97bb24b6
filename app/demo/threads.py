"""About forty text-message threads: reminders and their replies, questions about parking and
insurance, a few in Spanish, and some still waiting for the front desk (unread).

A reminder names the practice, the patient's first name, the day and the office's city: no
clinical detail. A patient who confirms by text has their appointment marked accepted."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.core import phones
from app.demo import data
from app.messaging.models import Conversation, Direction, Message, MessageStatus, Purpose
from app.patients.models import Patient
from app.practice.models import Location
from app.scheduling.models import Appointment, AppointmentStatus, ParticipantStatus
from app.security import blind_index

IN, AUTO, STAFF = "in", "auto", "staff"

REMINDER = {
    "en": "{practice}: reminder of {given}'s appointment on {when} at our {city} office. "
          "Reply C to confirm or R to reschedule.",
    "es": "{practice}: le recordamos la cita de {given} el {when} en nuestra oficina de {city}. "
          "Responda C para confirmar o R para cambiarla.",
}
CONFIRMED = {
    "en": "Thanks! {given}'s appointment on {when} is confirmed.",
    "es": "¡Gracias! La cita de {given} el {when} está confirmada.",
}


@dataclass(frozen=True)
class Script:
    language: str
    lines: tuple[tuple[str, str], ...]  # (who, text with {placeholders})
    reminder: bool = False  # opens with a reminder of a real appointment
    confirms: bool = False  # the patient confirms that appointment
    unread: bool = False  # ends with the patient's message, not yet read
    household: bool = False  # needs a phone shared by a family


def _reminder(language: str, *replies: tuple[str, str], **flags: bool) -> Script:
    return Script(language, ((AUTO, REMINDER[language]), *replies), reminder=True, **flags)


CONFIRM_C = _reminder("en", (IN, "C"), (AUTO, CONFIRMED["en"]), confirms=True)
CONFIRM_WORDS = _reminder("en", (IN, "Confirmed, thanks!"),
                          (STAFF, "You're all set, see you then!"), confirms=True)
CONFIRM_YES = _reminder("en", (IN, "Yes we'll be there"), (STAFF, "Great, thank you!"),
                        confirms=True)
RESCHEDULE = _reminder("en", (IN, "Can I move it to later in the week? Something came up at "
                                  "work."), unread=True)
RESCHEDULE_R = _reminder("en", (IN, "R"), (AUTO, "No problem. Reply with a day and time that "
                                                 "works for you, or call us at {phone}."),
                         (IN, "Thursday afternoon would be best"), unread=True)
FAMILY_SAME_DAY = _reminder("en", (IN, "Could we book the rest of the family for the same "
                                       "afternoon?"), unread=True, household=True)
PARKING = Script("en", ((IN, "Hi, is there parking near the {city} office?"),
                        (STAFF, "{parking}"), (IN, "Perfect, thank you")))
INSURANCE = Script("en", ((IN, "Do you take Delta Dental PPO?"),
                          (STAFF, "We do. Please bring your insurance card and a photo ID to "
                                  "your visit."), (IN, "Great thanks!")))
NEW_INSURANCE = Script("en", ((IN, "Hi, I got new insurance through my job. Do I need to send "
                                   "you the card before my appointment?"),), unread=True)
LATE = Script("en", ((IN, "Running about 10 minutes late, sorry!"),
                     (STAFF, "No problem, thanks for letting us know. Drive safe!")))
ADDRESS = Script("en", ((IN, "What's the address of the {city} office again? And what time "
                             "do you open?"),), unread=True)
EARLIER = Script("en", ((IN, "Do you have anything earlier next week? Mornings are best for "
                             "me."),), unread=True)
ES_CONFIRM_C = _reminder("es", (IN, "C"), (AUTO, CONFIRMED["es"]), confirms=True)
ES_CONFIRM_WORDS = _reminder("es", (IN, "Confirmado, gracias"),
                             (STAFF, "¡Perfecto! Nos vemos pronto."), confirms=True)
ES_PARKING = Script("es", ((IN, "¿Hay estacionamiento cerca de la oficina?"),
                           (STAFF, "{parking}"), (IN, "Muchas gracias")))
ES_RESCHEDULE = _reminder("es", (IN, "Quisiera cambiar la cita para la próxima semana, por "
                                     "favor."), unread=True)

PLAN = (
    [CONFIRM_C] * 8 + [CONFIRM_WORDS] * 5 + [CONFIRM_YES] * 3 + [PARKING] * 3
    + [INSURANCE] * 3 + [LATE] * 3 + [ES_CONFIRM_C] * 3 + [ES_CONFIRM_WORDS] * 2
    + [ES_PARKING] * 2
    + [RESCHEDULE] * 2 + [RESCHEDULE_R, FAMILY_SAME_DAY, NEW_INSURANCE, ADDRESS, EARLIER,
                          ES_RESCHEDULE]
)
# minutes between one message and the next, by who writes the next one
DELAYS = {IN: (3, 90), STAFF: (2, 25), AUTO: (0, 0)}
PURPOSES = {IN: Purpose.CONVERSATION, STAFF: Purpose.CONVERSATION, AUTO: Purpose.APPOINTMENT}


@dataclass
class Contact:
    phone: str
    patients: list[Patient]
    location: Location


def _when(moment: datetime, language: str) -> str:
    """"Wed Nov 25 at 1:00 PM" / "mié 25 de nov a las 1:00 p. m." """
    weekday = data.WEEKDAYS[language][moment.weekday()]
    month = data.MONTHS[language][moment.month - 1]
    hour = f"{moment.hour % 12 or 12}:{moment.minute:02d}"
    if language == "es":
        return f"{weekday} {moment.day} de {month} a las {hour} " \
               f"{'a. m.' if moment.hour < 12 else 'p. m.'}"
    return f"{weekday} {month} {moment.day} at {hour} {'AM' if moment.hour < 12 else 'PM'}"


def build_conversations(*, rng: random.Random, practice_id: int, practice_name: str,
                        by_mobile: dict[str, list[Patient]], locations: dict[str, Location],
                        appointments: list[Appointment], front_desk_id: int,
                        now: datetime) -> list[Conversation]:
    """The threads (not yet added to the session), one per contact phone."""
    by_patient: dict[int, list[Appointment]] = {}
    for appointment in appointments:
        if appointment.status != AppointmentStatus.CANCELLED:
            by_patient.setdefault(appointment.patient_id, []).append(appointment)
    place_by_state = {location.state: location for location in locations.values()}
    locations_by_id = {location.id: location for location in locations.values()}
    contacts = [Contact(phone, members, place_by_state[members[0].state])
                for phone, members in by_mobile.items()]
    rng.shuffle(contacts)
    used: set[str] = set()
    conversations = []
    for script in PLAN:
        def fits(contact: Contact, script: Script = script) -> bool:
            return (contact.phone not in used
                    and contact.patients[0].preferred_language == script.language
                    and (len(contact.patients) > 1 or not script.household))

        contact, appointment = _choose(script, contacts, fits, by_patient, now)
        used.add(contact.phone)
        conversations.append(_thread(
            rng, script=script, contact=contact, appointment=appointment,
            location=(locations_by_id[appointment.location_id] if appointment is not None
                      else contact.location),
            practice_id=practice_id, practice_name=practice_name,
            front_desk_id=front_desk_id, now=now))
    return conversations


def _choose(script: Script, contacts: list[Contact], fits: Callable[[Contact], bool],
            by_patient: dict[int, list[Appointment]], now: datetime
            ) -> tuple[Contact, Appointment | None]:
    """A contact for the script and, for a reminder, the appointment it reminds of: one in the
    last four weeks or the next few days, or, for a thread still waiting for an answer, one
    in the next few days (a weekend lies within any four)."""
    earliest = now + (timedelta(hours=3) if script.unread else timedelta(days=-26))
    latest = now + timedelta(days=4)
    for contact in filter(fits, contacts):
        if not script.reminder:
            return contact, None
        for patient in contact.patients:
            for appointment in by_patient.get(patient.id, []):
                if earliest <= appointment.start_at <= latest:
                    return contact, appointment
    raise LookupError(f"no demo contact fits a {script.language} conversation")


def _thread(rng: random.Random, *, script: Script, contact: Contact,
            appointment: Appointment | None, location: Location, practice_id: int,
            practice_name: str, front_desk_id: int, now: datetime) -> Conversation:
    zone = ZoneInfo(location.timezone)
    patient = contact.patients[0]
    when = ""
    if appointment is not None:
        patient = next(p for p in contact.patients if p.id == appointment.patient_id)
        when = _when(appointment.start_at.astimezone(zone), script.language)
        day = (appointment.start_at - timedelta(days=2)).astimezone(zone).date()
        if script.confirms and appointment.status == AppointmentStatus.BOOKED:
            appointment.patient_status = ParticipantStatus.ACCEPTED
    else:
        days_ago = rng.randint(0, 2) if script.unread else rng.randint(1, 25)
        day = (now - timedelta(days=days_ago)).astimezone(zone).date()
    opening = time(10) if appointment is not None else time(rng.randint(8, 16))
    sent = datetime.combine(day, opening, zone) + timedelta(minutes=rng.randrange(0, 60))
    # the whole exchange, at its slowest, is over before now, and starts in office hours
    slowest = sum(DELAYS[who][1] + 1 for who, _ in script.lines[1:])
    while sent > now - timedelta(minutes=slowest + 30):
        sent -= timedelta(days=1)
    values = {"practice": practice_name, "given": patient.given_name, "when": when,
              "city": location.city, "phone": phones.display(location.phone),
              "parking": _parking(location, script.language)}
    messages = []
    for who, text in script.lines:
        if messages:
            low, high = DELAYS[who]
            sent += timedelta(minutes=rng.randint(low, high), seconds=rng.randint(5, 50))
        outbound = who != IN
        messages.append(Message(
            practice_id=practice_id, patient_id=patient.id, channel="sms",
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            purpose=PURPOSES[who], body=text.format(**values), address=contact.phone,
            status=MessageStatus.DELIVERED if outbound else MessageStatus.RECEIVED,
            sent_by_staff_id=front_desk_id if who == STAFF else None, created_at=sent,
            updated_at=sent, sent_at=sent if outbound else None,
            delivered_at=sent + timedelta(seconds=3) if outbound else None))
    return Conversation(practice_id=practice_id, channel="sms", contact=contact.phone,
                        contact_index=blind_index.phone_index(contact.phone),
                        unread=script.unread, created_at=messages[0].created_at,
                        last_message_at=messages[-1].created_at,
                        # unread for every staff member (the inbox's per-staff state) only
                        # while it waits for the front desk; the others count as read
                        last_inbound_at=messages[-1].created_at if script.unread else None,
                        patients=contact.patients, messages=messages)


def _parking(location: Location, language: str) -> str:
    place = next(p for p in data.PLACES if p.name == location.name)
    return place.parking[language]
