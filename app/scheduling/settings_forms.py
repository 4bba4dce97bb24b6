"""Calendar settings forms: an appointment type, a provider's weekly hours at a location, and
one exception (time off or extra hours). Ranges and business rules are checked by the
services (``appointment_types``, ``calendars``); these forms check shape and the local times
a person types."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.validators import AnyOf, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.scheduling.appointment_types import MAX_NAME_LENGTH
from app.scheduling.calendars import MAX_EXTRA_HOURS, MAX_LABEL_LENGTH
from app.scheduling.forms import required
from app.scheduling.open_time import EXTRA_HOURS, TIME_OFF
from app.security.auth import strip_text

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))
EXCEPTION_KINDS = {TIME_OFF: _l("Time off"), EXTRA_HOURS: _l("Extra hours")}
EVERY_LOCATION = 0  # the location choice for time off at every location


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AppointmentTypeForm(FlaskForm):
    name = StringField(_l("Name (patients see it)"), filters=[strip_text], validators=[
        InputRequired(message=_l("Give the type a name.")),
        Length(max=MAX_NAME_LENGTH,
               message=_l("Use at most %(max)d characters.", max=MAX_NAME_LENGTH))])
    name_es = StringField(_l("Name in Spanish (optional)"), filters=[strip_text], validators=[
        Length(max=MAX_NAME_LENGTH,
               message=_l("Use at most %(max)d characters.", max=MAX_NAME_LENGTH))])
    duration_minutes = IntegerField(_l("Length (minutes)"),
                                    validators=required(_l("Length (minutes)")))
    buffer_before_minutes = IntegerField(_l("Buffer before (minutes)"), default=0,
                                         validators=required(_l("Buffer before (minutes)")))
    buffer_after_minutes = IntegerField(_l("Buffer after (minutes)"), default=0,
                                        validators=required(_l("Buffer after (minutes)")))
    for_new_patients = BooleanField(_l("For new patients"))
    bookable_online = BooleanField(_l("Patients may book it online"), default=True)
    active = BooleanField(_l("Active: can be booked"), default=True)
    min_notice_minutes = IntegerField(_l("Online booking: minimum notice (minutes)"),
                                      default=120,
                                      validators=required(_l("Minimum notice")))
    max_days_ahead = IntegerField(_l("Online booking: at most this many days ahead"),
                                  default=90, validators=required(_l("Days ahead")))
    provider_ids = CheckboxesField(_l("Providers who offer it"), coerce=int, choices=[],
                                   validate_choice=False)


def _interval_check(form: Form, start: Field, end: Field) -> None:
    if (start.data is None) != (end.data is None):
        missing = end if end.data is None else start
        missing.errors.append(_l("Give both the start and the end."))
    elif start.data is not None and end.data <= start.data:
        end.errors.append(_l("Must be after the start."))


class DayHoursForm(Form):
    """One weekday: up to two intervals, local to the location."""

    start_1 = TimeField(_l("From"), validators=[Optional()])
    end_1 = TimeField(_l("To"), validators=[Optional()])
    start_2 = TimeField(_l("From"), validators=[Optional()])
    end_2 = TimeField(_l("To"), validators=[Optional()])

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        _interval_check(self, self.start_1, self.end_1)
        _interval_check(self, self.start_2, self.end_2)
        if not self.errors and None not in (self.start_1.data, self.start_2.data) \
                and self.start_1.data < self.end_2.data and self.start_2.data < self.end_1.data:
            self.start_2.errors.append(_l("Overlaps the first interval."))
        return not self.errors

    def intervals(self) -> list[tuple[int, time, time]]:
        """(interval number, start, end) of the filled-in intervals."""
        return [(number, start.data, end.data)
                for number, start, end in ((1, self.start_1, self.end_1),
                                           (2, self.start_2, self.end_2))
                if start.data is not None and end.data is not None]


class WeeklyHoursForm(FlaskForm):
    location_id = SelectField(_l("Location"), coerce=int, choices=[],
                              validators=required(_l("Location")))
    valid_from = DateField(_l("From (date)"), validators=[Optional()])
    valid_until = DateField(_l("Until (date)"), validators=[Optional()])
    days = FieldList(FormField(DayHoursForm), min_entries=7, max_entries=7)
    replace_later = BooleanField(_l("Replace these later hours too"))


class ExceptionForm(FlaskForm):
    kind = SelectField(_l("What"), choices=[SelectChoice(value, label)
                                            for value, label in EXCEPTION_KINDS.items()],
                       validators=[
        AnyOf(list(EXCEPTION_KINDS), message=_l("Choose time off or extra hours."))])
    location_id = SelectField(_l("Where"), coerce=int, choices=[],
                              validators=required(_l("Where")))
    starts_on = DateField(_l("Date"), validators=required(_l("Date")))
    start_time = TimeField(_l("From"), validators=[Optional()])
    ends_on = DateField(_l("Last day (for several days)"), validators=[Optional()])
    end_time = TimeField(_l("To"), validators=[Optional()])
    label = StringField(_l("Note (for example: Holiday)"), filters=[strip_text], validators=[
        Length(max=MAX_LABEL_LENGTH,
               message=_l("Use at most %(max)d characters.", max=MAX_LABEL_LENGTH))])

    def validate_location_id(self, field: Field) -> None:
        if self.kind.data == EXTRA_HOURS and field.data == EVERY_LOCATION:
            raise ValidationError(_l("Extra hours are at one location: choose it."))

    def validate_ends_on(self, field: Field) -> None:
        if field.data is not None and self.starts_on.data is not None \
                and field.data < self.starts_on.data:
            raise ValidationError(_l("Must be on or after the date."))

    def validate_end_time(self, field: Field) -> None:
        if self.starts_on.data is None or self.ends_on.errors:
            return
        starts, ends = self.local_span()
        if ends <= starts:
            raise ValidationError(_l("Must be after the start."))
        if self.kind.data == EXTRA_HOURS and ends - starts > MAX_EXTRA_HOURS:
            raise ValidationError(_l("Extra hours may last at most a day."))

    def local_span(self) -> tuple[datetime, datetime]:
        """Start and end as wall-clock times: empty times mean whole days (from midnight of
        the date to midnight after the last day)."""
        first = self.starts_on.data
        last = self.ends_on.data or first
        starts = datetime.combine(first, self.start_time.data or time(0))
        if self.end_time.data is None:
            return starts, datetime.combine(last + timedelta(days=1), time(0))
        return starts, datetime.combine(last, self.end_time.data)
