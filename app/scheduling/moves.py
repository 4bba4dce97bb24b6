"""A patient moves one booked visit online, through a signed reschedule link (``/m/<token>``).

The link (``links.LinkPurpose.RESCHEDULE``) names only the appointment id and expires a day
after the visit ends. Opening it starts online booking pre-filled with the visit's type,
location and provider; the time the patient then picks MOVES the visit through
``booking.reschedule`` (source "patient": the online booking rules apply, the type stays the
visit's, the provider and location are any the type is booked online with), so its reminders
are re-planned and staff see a move (the audit trail's reschedule, and a line on the visit's
note saying the patient moved it online and from when). A visit that is cancelled, past,
checked in, or of a type not booked online cannot be moved this way (``MoveRefused``): the
patient is told why and may still book a new visit normally.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from flask_babel import gettext as _

from app.core.clock import utcnow
from app.core.tenancy import across_practices
from app.extensions import db
from app.scheduling import booking
from app.scheduling.booking_rules import BookingInputError
from app.scheduling.models import Appointment, AppointmentStatus
from app.scheduling.slots import Slot
from app.security import audit, links

PURPOSE = links.LinkPurpose.RESCHEDULE
S = AppointmentStatus
# Why a link cannot move its visit (the page says it in the patient's words).
EXPIRED, INVALID, CANCELLED, PAST, CHECKED_IN, NOT_ONLINE = (
    "expired", "invalid", "cancelled", "past", "checked_in", "not_online")
_CHECKED_IN = (S.ARRIVED, S.CHECKED_IN)


class MoveRefused(Exception):
    """The link cannot move its visit; ``reason`` is one of the names above, ``appointment``
    the visit when the link named one."""

    def __init__(self, reason: str, appointment: Appointment | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.appointment = appointment


@dataclass(frozen=True)
class Moving:
    """The visit being moved, as the booking pages show it."""

    appointment: Appointment
    starts: datetime  # its current start, in its location's zone


def link_for(appointment: Appointment) -> str:
    """The reschedule link for ``appointment`` (a text's or the visit page's)."""
    token = links.issue_link_token(PURPOSE, appointment.id,
                                   expires_at=appointment.end_at + timedelta(days=1))
    return links.public_link_url(PURPOSE, token)


def open_link(token: str, *, now: datetime | None = None) -> Appointment:
    """The visit a valid link may move; ``MoveRefused`` otherwise. Read across practices:
    the link itself says which practice's visit it is."""
    try:
        claims = links.verify_link_token(token, PURPOSE)
    except links.LinkExpired:
        raise MoveRefused(EXPIRED) from None
    except links.LinkError:
        raise MoveRefused(INVALID) from None
    with across_practices():
        appointment = db.session.get(Appointment, int(claims.subject_id))
        if appointment is None:
            raise MoveRefused(INVALID)
        check_movable(appointment, now=now or utcnow())
    return appointment


def check_movable(appointment: Appointment, *, now: datetime) -> None:
    if appointment.status in (S.CANCELLED, S.ENTERED_IN_ERROR):
        raise MoveRefused(CANCELLED, appointment)
    if appointment.status in _CHECKED_IN:
        raise MoveRefused(CHECKED_IN, appointment)
    if appointment.status not in (S.BOOKED, S.PENDING) or appointment.start_at <= now:
        raise MoveRefused(PAST, appointment)
    if not appointment.appointment_type.bookable_online:
        raise MoveRefused(NOT_ONLINE, appointment)


def moving(token: str | None) -> Moving | None:
    """The visit the session is moving, while its link can still move it."""
    if not token:
        return None
    try:
        appointment = open_link(token)
    except MoveRefused:
        return None
    return Moving(appointment, local_start(appointment))


def local_start(appointment: Appointment) -> datetime:
    return appointment.start_at.astimezone(ZoneInfo(appointment.location.timezone))


def record_opened(appointment: Appointment) -> None:
    """The patient opened the link: the visit's time and place were shown (audited)."""
    audit.record(audit.Action.APPOINTMENT_VIEW, patient_id=appointment.patient_id,
                 object_type="appointment", object_id=appointment.id,
                 detail={"view": "reschedule_link"})
    db.session.commit()


def move(*, token: str, slot: Slot, now: datetime | None = None) -> Appointment:
    """Move the link's visit to ``slot``: ``MoveRefused`` when the link can no longer move
    it, ``BookingInputError`` for another type (or the time it already has, a time outside
    the online booking rules), ``booking.SlotTaken`` with the next times when it is gone."""
    now = now or utcnow()
    appointment = open_link(token, now=now)
    if slot.appointment_type_id != appointment.appointment_type_id:
        raise BookingInputError({"appointment_type_id": _("a moved visit keeps its type")})
    was = local_start(appointment)
    reason = (f"moved online by the patient from {format_skeleton('yMMMEd', was, locale='en')}"
              f" {format_time(was, 'short', tzinfo=was.tzinfo, locale='en')} "
              f"{was.strftime('%Z')}")
    appointment_id = appointment.id
    db.session.commit()  # the booking service wants an idle session
    return booking.reschedule(appointment_id=appointment_id, new_slot=slot, source="patient",
                              reason=reason, now=now)
