"""Staff calendar forms: what a calendar page shows (GET), and booking, moving, cancelling and
check-in/out (POST, with CSRF)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    Form,
    HiddenField,
    SearchField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from app.core.clock import utcnow
from app.patients.queries import MAX_QUERY_LENGTH
from app.scheduling.booking_rules import MAX_TEXT_LENGTH, too_early_or_late
from app.scheduling.models import Appointment, AppointmentStatus
from app.security.auth import strip_text
from app.web.fields import IdField

S = AppointmentStatus
# Check-in, check-out and no-show buttons, by the appointment's current status.
DESK_ACTIONS: dict[str, tuple[str, ...]] = {
    S.BOOKED: (S.ARRIVED, S.CHECKED_IN, S.NOSHOW),
    S.ARRIVED: (S.CHECKED_IN, S.FULFILLED),
    S.CHECKED_IN: (S.FULFILLED,),
}
ACTION_LABELS = {S.ARRIVED: _l("Arrived"), S.CHECKED_IN: _l("Check in"),
                 S.FULFILLED: _l("Check out"), S.NOSHOW: _l("No-show")}


def desk_actions(appointment: Appointment, *, now: datetime | None = None
                 ) -> list[tuple[str, Any, str | None]]:
    """The desk's buttons for the appointment: (status, label, why it cannot be pressed
    yet or any more; None when it can)."""
    now = now or utcnow()
    return [(status, ACTION_LABELS[status], too_early_or_late(appointment, status, now=now))
            for status in DESK_ACTIONS.get(appointment.status, ())]


def _aware(form: Form, field: Field) -> None:
    """A slot's start as the pages write it: an ISO time with its UTC offset."""
    try:
        value = datetime.fromisoformat(field.data or "")
    except ValueError:
        value = None
    if value is None or value.utcoffset() is None:
        raise ValidationError(_l("Choose a time from the calendar."))
    field.data = value


def required(label: Any) -> list[Any]:
    """A field that must be filled, its message naming it."""
    return [InputRequired(message=_l("%(field)s is missing.", field=label))]


# The days the calendar can show: a date outside them is refused and the page shows today.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2200, 12, 31)


def _on_calendar(form: Form, field: Field) -> None:
    if field.data is not None and not FIRST_DAY <= field.data <= LAST_DAY:
        raise ValidationError(_l("Enter a date between %(first)d and %(last)d.",
                                 first=FIRST_DAY.year, last=LAST_DAY.year))


class CalendarQuery(Form):
    """The calendar's choices, from the query string."""

    location_id = IdField(_l("Location"), validators=[Optional()])
    appointment_type_id = IdField(_l("Open slots for"), validators=[Optional()])
    provider_id = IdField(_l("Provider"), validators=[Optional()])
    date = DateField(_l("Day"), validators=[Optional(), _on_calendar])
    patient_id = IdField(_l("Patient"), validators=[Optional()])  # booking for this patient


class SlotFields(Form):
    """The slot a booking is for, as the calendar's links and forms name it."""

    appointment_type_id = IdField(_l("Type"), validators=required(_l("Type")))
    provider_id = IdField(_l("Provider"), validators=required(_l("Provider")))
    location_id = IdField(_l("Location"), validators=required(_l("Location")))
    start = HiddenField(_l("Time"), validators=[_aware])


class BookQuery(SlotFields):
    q = SearchField(_l("Find a patient"), validators=[
        Length(max=MAX_QUERY_LENGTH,
               message=_l("Use at most %(max)d characters.", max=MAX_QUERY_LENGTH))])
    patient_id = IdField(_l("Patient"), validators=[Optional()])  # chosen on their record


class BookForm(FlaskForm, SlotFields):
    patient_id = IdField(_l("Patient"), validators=[
        InputRequired(message=_l("Choose a patient."))])


class MoveDayQuery(Form):
    """The day whose open times to offer for a move (query string)."""

    day = DateField(_l("Move to another day"), validators=[Optional(), _on_calendar])


class MoveForm(FlaskForm, SlotFields):
    """The open slot to move to (its type and location are usually the appointment's)."""


class SeenForm(FlaskForm):
    """Mark a new booking seen (none named: all of them)."""

    appointment_id = IdField(_l("Appointment"), validators=[Optional()])


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), filters=[strip_text], validators=[
        DataRequired(message=_l("Say why the appointment is cancelled.")),
        Length(max=MAX_TEXT_LENGTH,
               message=_l("Use at most %(max)d characters.", max=MAX_TEXT_LENGTH))])
    by_practice = BooleanField(_l("The practice cancels (the patient gets an apology and a "
                                  "link to book again)"))


class NoteForm(FlaskForm):
    """The staff note on an appointment (staff only: never shown or sent to the patient)."""

    note = TextAreaField(_l("Note for staff"), filters=[strip_text], validators=[
        Length(max=MAX_TEXT_LENGTH,
               message=_l("Use at most %(max)d characters.", max=MAX_TEXT_LENGTH))])


class StatusForm(FlaskForm):
    status = HiddenField(_l("Status"), validators=[
        AnyOf([str(s) for s in ACTION_LABELS],
              message=_l("Choose check-in, check-out or no-show."))])
