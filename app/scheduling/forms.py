"""Staff calendar forms: what a calendar page shows (GET), and booking, moving, cancelling and
check-in/out (POST, with CSRF); the waitlist screen's filters and its add form."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    Field,
    Form,
    HiddenField,
    IntegerField,
    SearchField,
    SelectMultipleField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.patients.queries import MAX_QUERY_LENGTH
from app.scheduling.booking_rules import MAX_TEXT_LENGTH
from app.scheduling.models import AppointmentStatus
from app.scheduling.waitlist import ACCEPTED, DECLINED, EXPIRED, OFFERED, TAKEN, Options
from app.security.auth import strip_text
from app.web.fields import IdField

S = AppointmentStatus
# Check-in and check-out buttons, by the appointment's current status.
DESK_ACTIONS: dict[str, tuple[str, ...]] = {
    S.BOOKED: (S.ARRIVED, S.CHECKED_IN),
    S.ARRIVED: (S.CHECKED_IN, S.FULFILLED),
    S.CHECKED_IN: (S.FULFILLED,),
}
ACTION_LABELS = {S.ARRIVED: _l("Arrived"), S.CHECKED_IN: _l("Check in"),
                 S.FULFILLED: _l("Check out")}
OFFER_LABELS = {OFFERED: _l("Offered"), ACCEPTED: _l("Accepted"),
                TAKEN: _l("Taken by another patient"), EXPIRED: _l("Expired"),
                DECLINED: _l("Declined")}
MAX_PRIORITY = 100


def _aware(form: Form, field: Field) -> None:
    """A slot's start as the pages write it: an ISO time with its UTC offset."""
    try:
        value = datetime.fromisoformat(field.data or "")
    except ValueError:
        value = None
    if value is None or value.utcoffset() is None:
        raise ValidationError(_l("Choose a time from the calendar."))
    field.data = value


def _required(label: Any) -> list[Any]:
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


class SlotFields(Form):
    """The slot a booking is for, as the calendar's links and forms name it."""

    appointment_type_id = IdField(_l("Type"), validators=_required(_l("Type")))
    provider_id = IdField(_l("Provider"), validators=_required(_l("Provider")))
    location_id = IdField(_l("Location"), validators=_required(_l("Location")))
    start = HiddenField(_l("Time"), validators=[_aware])


class BookQuery(SlotFields):
    q = SearchField(_l("Find a patient"), validators=[
        Length(max=MAX_QUERY_LENGTH,
               message=_l("Use at most %(max)d characters.", max=MAX_QUERY_LENGTH))])


class BookForm(FlaskForm, SlotFields):
    patient_id = IdField(_l("Patient"), validators=[
        InputRequired(message=_l("Choose a patient."))])


class MoveForm(FlaskForm, SlotFields):
    """The open slot to move to (its type and location are usually the appointment's)."""


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), filters=[strip_text], validators=[
        DataRequired(message=_l("Say why the appointment is cancelled.")),
        Length(max=MAX_TEXT_LENGTH,
               message=_l("Use at most %(max)d characters.", max=MAX_TEXT_LENGTH))])


class StatusForm(FlaskForm):
    status = HiddenField(_l("Status"), validators=[
        AnyOf([str(s) for s in ACTION_LABELS], message=_l("Choose check-in or check-out."))])


def weekday_names() -> dict[int, str]:
    """Abbreviated day names in the page's language, 0 = Monday."""
    return dict(get_day_names("abbreviated", locale=str(get_locale() or "en")))


class WaitlistQuery(Form):
    """The waitlist screen's filters and its patient search, from the query string."""

    location_id = IdField(_l("Location"), validators=[Optional()])
    appointment_type_id = IdField(_l("Type"), validators=[Optional()])
    q = SearchField(_l("Find a patient"), validators=[
        Length(max=MAX_QUERY_LENGTH,
               message=_l("Use at most %(max)d characters.", max=MAX_QUERY_LENGTH))])


class WaitlistForm(FlaskForm):
    """Add a patient to the waitlist. ``q`` carries the patient search the choice came from,
    so a page shown again with errors lists the same patients."""

    q = HiddenField(validators=[Length(max=MAX_QUERY_LENGTH)])
    patient_id = IdField(_l("Patient"), validators=[
        InputRequired(message=_l("Choose a patient."))])
    appointment_type_id = IdField(_l("Type"), validators=_required(_l("Type")))
    location_id = IdField(_l("Location"), validators=_required(_l("Location")))
    provider_ids = SelectMultipleField(_l("Providers (none chosen: any)"), coerce=int)
    weekdays = SelectMultipleField(_l("Days"), coerce=int, default=list(range(7)), validators=[
        InputRequired(message=_l("Choose one or more days of the week."))])
    earliest_time = TimeField(_l("Earliest start"), validators=[Optional()])
    latest_time = TimeField(_l("Latest start"), validators=[Optional()])
    priority = IntegerField(_l("Priority (higher is offered first)"), default=0, validators=[
        InputRequired(message=_l("%(field)s is missing.", field=_l("Priority"))),
        NumberRange(min=0, max=MAX_PRIORITY,
                    message=_l("Use a whole number from 0 to %(max)d.", max=MAX_PRIORITY))])

    def offer(self, options: Options) -> None:
        """Set the choices the practice offers."""
        self.provider_ids.choices = options.providers
        self.weekdays.choices = sorted(weekday_names().items())

    def validate_latest_time(self, field: Field) -> None:
        if field.data and self.earliest_time.data and field.data < self.earliest_time.data:
            raise ValidationError(_l("Must not be before the earliest time."))
