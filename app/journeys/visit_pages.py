"""The patient's own visit pages behind a signed link (``/c/<token>``): confirm, reschedule
(the visit's reschedule link, ``scheduling.moves``: the time picked online moves this visit),
cancel with an optional reason, directions.

The token names only the appointment id and expires a day after the visit ends; it is not
single-use (a patient may confirm, then open it again for directions). What the pages show is
what the text already said: when, where, with whom. Never the patient's name, the visit's
type or anyone else's visit, so a forwarded link reveals no more than the text did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from app.core.tenancy import across_practices
from app.extensions import db
from app.scheduling import booking
from app.scheduling.models import Appointment, AppointmentStatus, ParticipantStatus
from app.security import links

PURPOSE = links.LinkPurpose.CONFIRMATION
CANCEL_REASON = "Cancelled by the patient on the visit page"
S = AppointmentStatus


class VisitGone(LookupError):
    """The link names no appointment (deleted): the same friendly page as a bad link."""


@dataclass(frozen=True)
class VisitPage:
    appointment: Appointment
    changeable: bool  # still booked and in the future: confirm / cancel / reschedule
    directions_url: str


def link_for(appointment: Appointment) -> str:
    token = links.issue_link_token(PURPOSE, appointment.id,
                                   expires_at=appointment.end_at + timedelta(days=1))
    return links.public_link_url(PURPOSE, token)


def open_link(token: str) -> Appointment:
    """The appointment a valid link names (``links.LinkError`` or ``VisitGone`` if none).
    Read across practices: the link itself says which practice's visit it is."""
    claims = links.verify_link_token(token, PURPOSE)
    with across_practices():
        appointment = db.session.get(Appointment, int(claims.subject_id))
    if appointment is None:
        raise VisitGone(claims.subject_id)
    return appointment


def page(*, appointment: Appointment, now: object) -> VisitPage:
    place = appointment.location
    address = f"{place.address_line}, {place.city}, {place.state} {place.postal_code}"
    return VisitPage(
        appointment=appointment,
        changeable=appointment.status in (S.BOOKED, S.PENDING)
        and appointment.start_at > now,  # type: ignore[operator]
        directions_url="https://www.google.com/maps/search/?" + urlencode(
            {"api": 1, "query": address}))


def confirm(*, appointment_id: int) -> Appointment:
    """The patient confirms (their answer becomes accepted; journeys marks it confirmed)."""
    return booking.set_patient_response(appointment_id=appointment_id,
                                        response=ParticipantStatus.ACCEPTED, source="patient")


def cancel(*, appointment_id: int, reason: str | None) -> Appointment:
    """The patient cancels; the freed time reaches the waitlist through the booking event."""
    return booking.cancel(appointment_id=appointment_id,
                          reason=(reason or "").strip() or CANCEL_REASON, source="patient")
