"""The staff waitlist screen's forms: its filters and patient search (GET), and adding a
patient (POST, with CSRF)."""

from __future__ import annotations

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Field,
    Form,
    HiddenField,
    IntegerField,
    SearchField,
    SelectMultipleField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.patients.queries import MAX_QUERY_LENGTH
from app.scheduling.forms import required
from app.scheduling.waitlist.queries import Options
from app.scheduling.waitlist.states import ACCEPTED, DECLINED, EXPIRED, OFFERED, TAKEN
from app.web.fields import IdField

OFFER_LABELS = {OFFERED: _l("Offered"), ACCEPTED: _l("Accepted"),
                TAKEN: _l("Taken by another patient"), EXPIRED: _l("Expired"),
                DECLINED: _l("Declined")}
MAX_PRIORITY = 100


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
    appointment_type_id = IdField(_l("Type"), validators=required(_l("Type")))
    location_id = IdField(_l("Location"), validators=required(_l("Location")))
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
